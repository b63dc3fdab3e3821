package dev.coffer.rego.builtins;

import dev.coffer.rego.value.ObjectValue;
import dev.coffer.rego.value.Value;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.TreeMap;

/** uri.parse and uri.is_valid: the components of a URI, empty ones left out. */
final class Uris {
    private Uris() {
    }

    static void register(Builtins.Registry r) {
        r.add("uri.is_valid", 1, (c, a) -> {
            String s = Args.str("uri.is_valid", a, 0);
            if (s.isEmpty()) return Value.of(false);
            try {
                URI u = new URI(s);
                return Value.of(u.getScheme() != null);
            } catch (URISyntaxException e) {
                return Value.of(false);
            }
        });
        r.add("uri.parse", 1, (c, a) -> {
            String s = Args.str("uri.parse", a, 0);
            TreeMap<Value, Value> out = new TreeMap<>(Value.ORDER);
            if (s.isEmpty()) return ObjectValue.wrap(out);
            URI u;
            try {
                u = new URI(s);
            } catch (URISyntaxException e) {
                throw BuiltinException.builtin("uri.parse", "invalid URI: " + e.getReason());
            }
            put(out, "scheme", u.getScheme());
            if (!u.isOpaque()) {
                String host = u.getHost();
                if (host != null && host.startsWith("[") && host.endsWith("]")) host = host.substring(1, host.length() - 1);
                put(out, "hostname", host);
                if (u.getPort() >= 0) put(out, "port", Integer.toString(u.getPort()));
                put(out, "path", u.getPath());
                put(out, "raw_path", u.getRawPath());
                put(out, "raw_query", u.getRawQuery());
                put(out, "fragment", u.getFragment());
            }
            return ObjectValue.wrap(out);
        });
    }

    private static void put(TreeMap<Value, Value> out, String k, String v) {
        if (v != null && !v.isEmpty()) out.put(Value.of(k), Value.of(v));
    }
}
