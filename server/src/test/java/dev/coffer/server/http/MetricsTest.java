package dev.coffer.server.http;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/** The Prometheus text format as written: every line parses, histograms are cumulative, labels stay bounded and escaped. */
class MetricsTest {
    private static final Pattern SAMPLE = Pattern.compile(
            "[a-zA-Z_:][a-zA-Z0-9_:]*(\\{([a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\\\n]|\\\\[\"\\\\n])*\",?)*\\})? (-?[0-9.eE+-]+|NaN|[+-]Inf)");

    @Test
    void pageParsesAndHistogramsAreCumulative() {
        Metrics m = new Metrics();
        m.observe("POST", "/keys/{name}/release", 200, null, 3_000_000);       // 3 ms
        m.observe("POST", "/keys/{name}/release", 200, null, 40_000_000);      // 40 ms
        m.observe("POST", "/keys/{name}/release", 503, ErrorCode.STORE_UNAVAILABLE, 20_000_000_000L); // 20 s: only +Inf
        m.observe("POST", "/attest/SevSnpVm", 403, ErrorCode.MEASUREMENT_NOT_ENDORSED, 1_000_000);
        m.observe("BREW", HttpApiServer.UNMATCHED_ROUTE, 405, ErrorCode.METHOD_NOT_ALLOWED, 1_000);
        m.register("coffer_test_gauge", "gauge", "a label value with \"quotes\" and a \\ backslash",
                () -> List.of(new Metrics.Sample(Map.of("k", "a\"b\\c\nd"), 1.5)));
        String page = new String(m.render(), StandardCharsets.UTF_8);
        for (String line : page.split("\n")) {
            if (line.startsWith("# HELP ") || line.startsWith("# TYPE ")) continue;
            assertTrue(SAMPLE.matcher(line).matches(), "not a sample line: " + line);
        }
        assertTrue(page.contains("coffer_http_request_duration_seconds_bucket{method=\"POST\",route=\"/keys/{name}/release\",le=\"0.001\"} 0\n"), page);
        assertTrue(page.contains("coffer_http_request_duration_seconds_bucket{method=\"POST\",route=\"/keys/{name}/release\",le=\"0.005\"} 1\n"), page);
        assertTrue(page.contains("coffer_http_request_duration_seconds_bucket{method=\"POST\",route=\"/keys/{name}/release\",le=\"0.05\"} 2\n"), page);
        assertTrue(page.contains("coffer_http_request_duration_seconds_bucket{method=\"POST\",route=\"/keys/{name}/release\",le=\"10\"} 2\n"), page);
        assertTrue(page.contains("coffer_http_request_duration_seconds_bucket{method=\"POST\",route=\"/keys/{name}/release\",le=\"+Inf\"} 3\n"), page);
        assertTrue(page.contains("coffer_http_request_duration_seconds_count{method=\"POST\",route=\"/keys/{name}/release\"} 3\n"), page);
        assertTrue(page.contains("coffer_http_requests_total{method=\"POST\",route=\"/keys/{name}/release\",status=\"503\",code=\"store_unavailable\"} 1\n"), page);
        assertTrue(page.contains("coffer_attestation_verdicts_total{type=\"SevSnpVm\",verdict=\"refused\",code=\"measurement_not_endorsed\"} 1\n"), page);
        assertTrue(page.contains("method=\"other\""), "a made-up method does not become a label value of its own");
        assertFalse(page.contains("BREW"));
        assertTrue(page.contains("coffer_test_gauge{k=\"a\\\"b\\\\c\\nd\"} 1.5\n"), page);
        assertTrue(page.contains("# TYPE coffer_http_request_duration_seconds histogram\n"));
    }

    @Test
    void aFailingPartIsLeftOutNotTheWholePage() {
        Metrics m = new Metrics();
        m.register("coffer_broken", "gauge", "fails", () -> {
            throw new IllegalStateException("database down");
        });
        m.register("coffer_fine", "gauge", "works", () -> List.of(Metrics.Sample.of(2)));
        String page = new String(m.render(), StandardCharsets.UTF_8);
        assertFalse(page.contains("coffer_broken"));
        assertTrue(page.contains("coffer_fine 2\n"));
        assertThrows(IllegalArgumentException.class, () -> m.register("bad name", "gauge", "x", List::of));
        assertThrows(IllegalArgumentException.class, () -> m.register("coffer_x", "summary", "x", List::of));
    }
}
