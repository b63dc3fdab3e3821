package dev.coffer.policy.enforce;

/** RE2 metacharacter escaping, as the generator writes names into re2 env rules. */
final class Re2Quote {
    private Re2Quote() {}

    static String quote(String s) {
        StringBuilder sb = new StringBuilder(s.length() + 8);
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            if ("\\.+*?()|[]{}^$".indexOf(ch) >= 0) sb.append('\\');
            sb.append(ch);
        }
        return sb.toString();
    }
}
