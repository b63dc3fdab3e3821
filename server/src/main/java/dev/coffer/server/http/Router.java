package dev.coffer.server.http;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Maps method + path to a {@link Route}. Templates are literal segments and {@code {name}}
 * placeholders; a placeholder matches one non-empty segment. Unknown paths are
 * {@code not_found}, known paths with another method {@code method_not_allowed}.
 */
public final class Router {
    private record Entry(String method, String template, String[] segments, Route route) {}

    /** @param template the route's path template, e.g. {@code /keys/{name}/release} (a bounded metrics label) */
    public record Match(Route route, Map<String, String> params, String template) {}

    private final List<Entry> entries = new ArrayList<>();
    /**
     * The server listens before its routes exist (its issuer name needs the bound port). Until
     * {@link #open()} every request is told to retry, rather than that the API does not exist;
     * the volatile write also publishes the route list to the request threads.
     */
    private volatile boolean open;

    public Router add(String method, String template, Route route) {
        if (open) throw new IllegalStateException("routes are added before the router opens");
        entries.add(new Entry(method, template, split(template), route));
        return this;
    }

    /** Starts answering with the routes added so far. */
    public void open() {
        open = true;
    }

    public Match match(String method, String path) {
        if (!open) throw new ApiException(ErrorCode.STARTING, "the server is starting; retry in a moment");
        String[] segments = split(path);
        boolean pathKnown = false;
        for (Entry e : entries) {
            Map<String, String> params = bind(e.segments, segments);
            if (params == null) continue;
            pathKnown = true;
            if (e.method.equals(method) || (method.equals("HEAD") && e.method.equals("GET"))) {
                return new Match(e.route, params, e.template);
            }
        }
        if (pathKnown) {
            throw new ApiException(ErrorCode.METHOD_NOT_ALLOWED, "method " + method + " is not allowed on " + path);
        }
        throw new ApiException(ErrorCode.NOT_FOUND, "no API at " + path + "; see GET /.well-known/openid-configuration and server/README.md");
    }

    private static Map<String, String> bind(String[] template, String[] path) {
        if (template.length != path.length) return null;
        Map<String, String> params = new HashMap<>();
        for (int i = 0; i < template.length; i++) {
            String t = template[i];
            if (t.startsWith("{") && t.endsWith("}")) {
                if (path[i].isEmpty()) return null;
                params.put(t.substring(1, t.length() - 1), path[i]);
            } else if (!t.equals(path[i])) {
                return null;
            }
        }
        return params;
    }

    private static String[] split(String path) {
        String p = path.startsWith("/") ? path.substring(1) : path;
        if (p.endsWith("/")) p = p.substring(0, p.length() - 1);
        return p.isEmpty() ? new String[0] : p.split("/", -1);
    }
}
