package dev.coffer.server.http;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/**
 * The server's metrics in the Prometheus text exposition format (version 0.0.4): requests by
 * route, status and error code, request latency histograms by route, attestation verdicts by
 * reason, plus whatever the server's parts register (releases, queue depth, connections).
 * Labels come only from bounded sets (route templates, known methods, status codes, the
 * {@link ErrorCode} catalogue), so no request can grow the page.
 */
public final class Metrics implements HttpApiServer.RequestObserver {
    /** Latency bucket bounds in seconds: from a cached read (~1 ms) to a slow database (10 s). */
    static final double[] LATENCY_BUCKETS = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
    private static final Set<String> METHODS = Set.of("GET", "HEAD", "POST", "PUT", "DELETE");
    /** Routes under this prefix are attestations: their answers are verdicts. */
    private static final String ATTEST_PREFIX = "/attest/";

    /** One sample of a metric computed at scrape time. */
    public record Sample(Map<String, String> labels, double value) {
        public static Sample of(double value) {
            return new Sample(Map.of(), value);
        }
    }

    private record Family(String name, String type, String help, Supplier<List<Sample>> samples) {}

    private record RequestKey(String method, String route, int status, String code) {}

    private record RouteKey(String method, String route) {}

    private record VerdictKey(String type, String verdict, String code) {}

    private static final class Histogram {
        final LongAdder[] buckets = new LongAdder[LATENCY_BUCKETS.length];
        final DoubleAdder sum = new DoubleAdder();
        final LongAdder count = new LongAdder();

        Histogram() {
            for (int i = 0; i < buckets.length; i++) buckets[i] = new LongAdder();
        }

        void observe(double seconds) {
            for (int i = 0; i < LATENCY_BUCKETS.length; i++) {
                if (seconds <= LATENCY_BUCKETS[i]) {
                    buckets[i].increment();
                    break;
                }
            }
            sum.add(seconds);
            count.increment();
        }
    }

    private final ConcurrentHashMap<RequestKey, LongAdder> requests = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<RouteKey, Histogram> latency = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<VerdictKey, LongAdder> verdicts = new ConcurrentHashMap<>();
    private final List<Family> registered = new CopyOnWriteArrayList<>();

    @Override
    public void observe(String method, String routeTemplate, int status, ErrorCode failed, long nanos) {
        String m = METHODS.contains(method) ? method : "other";
        String code = failed == null ? "" : failed.code();
        requests.computeIfAbsent(new RequestKey(m, routeTemplate, status, code), k -> new LongAdder()).increment();
        latency.computeIfAbsent(new RouteKey(m, routeTemplate), k -> new Histogram()).observe(nanos / 1e9);
        if (m.equals("POST") && routeTemplate.startsWith(ATTEST_PREFIX)) {
            String type = routeTemplate.substring(ATTEST_PREFIX.length());
            verdicts.computeIfAbsent(new VerdictKey(type, failed == null && status < 400 ? "issued" : "refused",
                    failed == null ? "" : failed.code()), k -> new LongAdder()).increment();
        }
    }

    /** Adds a metric read when the page is scraped; {@code type} is {@code counter} or {@code gauge}. */
    public void register(String name, String type, String help, Supplier<List<Sample>> samples) {
        if (!name.matches("[a-zA-Z_:][a-zA-Z0-9_:]*")) throw new IllegalArgumentException("not a metric name: " + name);
        if (!type.equals("counter") && !type.equals("gauge")) throw new IllegalArgumentException("type must be counter or gauge, found " + type);
        registered.add(new Family(name, type, help, samples));
    }

    /** The page, {@code text/plain; version=0.0.4}. */
    public byte[] render() {
        StringBuilder out = new StringBuilder(4096);
        header(out, "coffer_http_requests_total", "counter", "HTTP requests answered, by method, route template, status and error code");
        requests.entrySet().stream().sorted(Comparator.comparing(e -> e.getKey().toString())).forEach(e -> {
            RequestKey k = e.getKey();
            sample(out, "coffer_http_requests_total", labels("method", k.method, "route", k.route, "status", Integer.toString(k.status),
                    "code", k.code), e.getValue().sum());
        });
        header(out, "coffer_http_request_duration_seconds", "histogram", "Time from request to answer, by method and route template");
        latency.entrySet().stream().sorted(Comparator.comparing(e -> e.getKey().toString())).forEach(e -> {
            RouteKey k = e.getKey();
            Histogram h = e.getValue();
            long cumulative = 0;
            for (int i = 0; i < LATENCY_BUCKETS.length; i++) {
                cumulative += h.buckets[i].sum();
                sample(out, "coffer_http_request_duration_seconds_bucket", labels("method", k.method, "route", k.route,
                        "le", number(LATENCY_BUCKETS[i])), cumulative);
            }
            long count = h.count.sum();
            sample(out, "coffer_http_request_duration_seconds_bucket", labels("method", k.method, "route", k.route, "le", "+Inf"), count);
            sample(out, "coffer_http_request_duration_seconds_sum", labels("method", k.method, "route", k.route), h.sum.sum());
            sample(out, "coffer_http_request_duration_seconds_count", labels("method", k.method, "route", k.route), count);
        });
        header(out, "coffer_attestation_verdicts_total", "counter", "Attestation answers by evidence type, verdict (issued, refused) and reason (error code)");
        verdicts.entrySet().stream().sorted(Comparator.comparing(e -> e.getKey().toString())).forEach(e -> {
            VerdictKey k = e.getKey();
            sample(out, "coffer_attestation_verdicts_total", labels("type", k.type, "verdict", k.verdict, "code", k.code), e.getValue().sum());
        });
        for (Family f : registered) {
            List<Sample> samples;
            try {
                samples = f.samples.get();
            } catch (RuntimeException e) {
                continue; // a part that cannot say (its store is down) is left out rather than failing the page
            }
            header(out, f.name, f.type, f.help);
            for (Sample s : samples) {
                List<String> l = new ArrayList<>();
                s.labels.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> {
                    l.add(e.getKey());
                    l.add(e.getValue());
                });
                sample(out, f.name, labels(l.toArray(String[]::new)), s.value);
            }
        }
        return out.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static void header(StringBuilder out, String name, String type, String help) {
        out.append("# HELP ").append(name).append(' ').append(help.replace("\\", "\\\\").replace("\n", "\\n")).append('\n');
        out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    private static Map<String, String> labels(String... kv) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) m.put(kv[i], kv[i + 1]);
        return m;
    }

    private static void sample(StringBuilder out, String name, Map<String, String> labels, double value) {
        out.append(name);
        if (!labels.isEmpty()) {
            out.append('{');
            boolean first = true;
            for (var e : labels.entrySet()) {
                if (!first) out.append(',');
                first = false;
                out.append(e.getKey()).append("=\"")
                        .append(e.getValue().replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n")).append('"');
            }
            out.append('}');
        }
        out.append(' ').append(number(value)).append('\n');
    }

    static String number(double v) {
        if (Double.isNaN(v)) return "NaN";
        if (Double.isInfinite(v)) return v > 0 ? "+Inf" : "-Inf";
        if (v == Math.rint(v) && Math.abs(v) < 1e15) return Long.toString((long) v);
        return Double.toString(v);
    }
}
