package dev.coffer.server.bench;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;

/**
 * One keep-alive HTTP/1.1 connection for the load generator: writes a pre-serialised request and
 * reads the answer (Content-Length or chunked). Deliberately small: the general-purpose JDK client
 * spent several times the CPU per request, and on a shared machine that CPU is taken from the
 * server being measured. Not thread-safe: one connection per load thread.
 */
final class HttpConnection implements AutoCloseable {
    private static final int TIMEOUT_MILLIS = 30_000;
    private static final int MAX_HEAD = 64 * 1024;

    /**
     * @param timing the server's own account of the request, from its Server-Timing header
     *               ({@link ServerTiming#NONE} when it gave none)
     */
    record Response(int status, byte[] body, boolean close, ServerTiming timing) {}

    /**
     * The server's Server-Timing metrics, in milliseconds, -1 where absent: {@code recv} from the
     * parsed request to its handler's start, {@code queue} in the admission queue, {@code handle}
     * in the handler.
     */
    record ServerTiming(double recvMillis, double queueMillis, double handleMillis) {
        static final ServerTiming NONE = new ServerTiming(-1, -1, -1);

        static ServerTiming parse(String header) {
            return new ServerTiming(metric(header, "recv"), metric(header, "queue"), metric(header, "handle"));
        }

        /** Time the server accounts for, from the parsed request to the handler's answer; -1 unless all three are known. */
        double serverMillis() {
            return recvMillis < 0 || queueMillis < 0 || handleMillis < 0 ? -1 : recvMillis + queueMillis + handleMillis;
        }
    }

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;

    private HttpConnection(Socket socket) throws IOException {
        this.socket = socket;
        this.in = new BufferedInputStream(socket.getInputStream(), 16 * 1024);
        this.out = socket.getOutputStream();
    }

    /** @param tls the context an {@code https} base is reached with (its trust decides the server); unused for http */
    static HttpConnection open(URI base, javax.net.ssl.SSLContext tls) throws IOException {
        boolean https = "https".equals(base.getScheme());
        Socket s = new Socket();
        try {
            s.setTcpNoDelay(true);
            s.connect(new InetSocketAddress(base.getHost(), base.getPort() < 0 ? (https ? 443 : 80) : base.getPort()), TIMEOUT_MILLIS);
            s.setSoTimeout(TIMEOUT_MILLIS);
            if (!https) return new HttpConnection(s);
            javax.net.ssl.SSLSocket ssl = (javax.net.ssl.SSLSocket) tls.getSocketFactory().createSocket(s, base.getHost(), s.getPort(), true);
            javax.net.ssl.SSLParameters params = ssl.getSSLParameters();
            params.setEndpointIdentificationAlgorithm("HTTPS");
            ssl.setSSLParameters(params);
            ssl.startHandshake();
            return new HttpConnection(ssl);
        } catch (IOException e) {
            s.close();
            throw e;
        }
    }

    /** The bytes of {@code POST path} with a JSON body, ready to be written as often as needed. */
    static byte[] request(URI base, String path, byte[] body) {
        String host = base.getHost() + (base.getPort() < 0 ? "" : ":" + base.getPort());
        byte[] head = ("POST " + path + " HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: application/json\r\nContent-Length: "
                + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
        byte[] all = new byte[head.length + body.length];
        System.arraycopy(head, 0, all, 0, head.length);
        System.arraycopy(body, 0, all, head.length, body.length);
        return all;
    }

    Response exchange(byte[] request) throws IOException {
        out.write(request);
        out.flush();
        String statusLine = line();
        if (!statusLine.startsWith("HTTP/1.")) throw new IOException("expected an HTTP/1.x status line, found '" + clip(statusLine) + "'");
        int sp = statusLine.indexOf(' ');
        int status;
        try {
            status = Integer.parseInt(statusLine.substring(sp + 1, Math.min(statusLine.length(), sp + 4)));
        } catch (RuntimeException e) {
            throw new IOException("expected a status code in '" + clip(statusLine) + "'");
        }
        long length = -1;
        boolean chunked = false;
        boolean close = statusLine.startsWith("HTTP/1.0");
        ServerTiming timing = ServerTiming.NONE;
        int headBytes = 0;
        for (String h = line(); !h.isEmpty(); h = line()) {
            headBytes += h.length();
            if (headBytes > MAX_HEAD) throw new IOException("response head exceeds " + MAX_HEAD + " bytes");
            int colon = h.indexOf(':');
            if (colon < 0) continue;
            String name = h.substring(0, colon).trim();
            String value = h.substring(colon + 1).trim();
            if (name.equalsIgnoreCase("Content-Length")) length = Long.parseLong(value);
            else if (name.equalsIgnoreCase("Transfer-Encoding")) chunked = value.equalsIgnoreCase("chunked");
            else if (name.equalsIgnoreCase("Connection")) close = value.equalsIgnoreCase("close");
            else if (name.equalsIgnoreCase("Server-Timing")) timing = ServerTiming.parse(value);
        }
        byte[] body;
        if (chunked) {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            while (true) {
                String size = line();
                int semi = size.indexOf(';');
                int n = Integer.parseInt((semi < 0 ? size : size.substring(0, semi)).trim(), 16);
                if (n == 0) {
                    while (!line().isEmpty()) {
                        // trailers: ignored
                    }
                    break;
                }
                b.write(exactly(n));
                line();
            }
            body = b.toByteArray();
        } else if (length >= 0) {
            body = exactly((int) length);
        } else {
            body = in.readAllBytes();
            close = true;
        }
        return new Response(status, body, close, timing);
    }

    /** The {@code NAME;dur=MS} metric of a Server-Timing value, or -1. */
    static double metric(String serverTiming, String name) {
        for (String metric : serverTiming.split(",")) {
            String[] parts = metric.trim().split(";");
            if (!parts[0].trim().equals(name)) continue;
            for (int i = 1; i < parts.length; i++) {
                String p = parts[i].trim();
                if (p.startsWith("dur=")) {
                    try {
                        return Double.parseDouble(p.substring(4));
                    } catch (NumberFormatException e) {
                        return -1;
                    }
                }
            }
        }
        return -1;
    }

    private byte[] exactly(int n) throws IOException {
        byte[] b = in.readNBytes(n);
        if (b.length != n) throw new IOException("connection closed after " + b.length + " of " + n + " body bytes");
        return b;
    }

    /** One CRLF-terminated line as ISO-8859-1 text, without the line end. */
    private String line() throws IOException {
        StringBuilder sb = new StringBuilder(64);
        while (true) {
            int c = in.read();
            if (c < 0) throw new IOException("connection closed by the server in the middle of a response");
            if (c == '\n') break;
            if (c != '\r') sb.append((char) c);
            if (sb.length() > MAX_HEAD) throw new IOException("response line exceeds " + MAX_HEAD + " bytes");
        }
        return sb.toString();
    }

    private static String clip(String s) {
        return s.length() > 80 ? s.substring(0, 80) + "..." : s;
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing a broken connection: nothing left to do
        }
    }
}
