package dev.coffer.server.http;

/** A request handler bound to a method and a path template such as {@code /keys/{name}/release}. */
@FunctionalInterface
public interface Route {
    HttpResponse handle(HttpRequest request) throws ApiException;
}
