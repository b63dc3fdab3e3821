package dev.coffer.server.http;

import java.util.Map;

/** One request as the API routes see it: the body is already read (and size-checked). */
public record HttpRequest(String method, String path, Map<String, String> pathParams,
                          Map<String, String> query, Map<String, String> headers, byte[] body) {
    public String pathParam(String name) {
        return pathParams.get(name);
    }

    /** Header lookup, case-insensitive (names are stored lower-cased). */
    public String header(String name) {
        return headers.get(name.toLowerCase(java.util.Locale.ROOT));
    }

    public String queryParam(String name) {
        return query.get(name);
    }
}
