package dev.coffer.rego.graphql;

import java.util.ArrayList;
import java.util.List;

/** GraphQL's lexical grammar (spec §2.1): punctuators, names, numbers, strings and block strings. */
final class Lexer {
    enum Kind {
        INVALID("<Invalid>"), EOF("<EOF>"), BANG("!"), DOLLAR("$"), AMP("&"), PAREN_L("("), PAREN_R(")"), SPREAD("..."),
        COLON(":"), EQUALS("="), AT("@"), BRACKET_L("["), BRACKET_R("]"), BRACE_L("{"), PIPE("|"), BRACE_R("}"),
        NAME("Name"), INT("Int"), FLOAT("Float"), STRING("String"), BLOCK_STRING("BlockString");

        /** How gqlparser prints the kind in "Expected X, found Y". */
        final String text;

        Kind(String text) {
            this.text = text;
        }
    }

    /** A token; an INVALID one carries the lexical error that the parser raises if it consumes it. */
    record Token(Kind kind, String value, int line, int column, GraphQlException error) {
        Token(Kind kind, String value, int line, int column) {
            this(kind, value, line, column, null);
        }

        /** gqlparser's Token.String(): the kind, with the quoted value when there is one. */
        String describe() {
            return value.isEmpty() ? kind.text : kind.text + " " + quote(value);
        }
    }

    private final String src;
    private int pos;
    private int line = 1;
    private int lineStart;

    private Lexer(String src) {
        this.src = src;
    }

    /**
     * All tokens, ending with EOF or, at a lexical error, with an INVALID token at the error's
     * position (as gqlparser: a parser that only peeks at it reports "Unexpected &lt;Invalid&gt;").
     */
    static List<Token> tokens(String src) {
        Lexer l = new Lexer(src);
        List<Token> out = new ArrayList<>();
        while (true) {
            Token t;
            try {
                t = l.next();
            } catch (GraphQlException e) {
                out.add(new Token(Kind.INVALID, "", e.line(), e.column(), e));
                return out;
            }
            out.add(t);
            if (t.kind() == Kind.EOF) return out;
        }
    }

    private int column(int at) {
        return src.codePointCount(lineStart, at) + 1;
    }

    private GraphQlException error(int at, String msg) {
        return new GraphQlException(msg, line, column(at));
    }

    private Token token(Kind k, int start, String value) {
        return new Token(k, value, line, column(start));
    }

    private Token next() {
        skipIgnored();
        int start = pos;
        if (pos >= src.length()) return token(Kind.EOF, start, "");
        char c = src.charAt(pos);
        switch (c) {
            case '!': pos++; return token(Kind.BANG, start, "");
            case '$': pos++; return token(Kind.DOLLAR, start, "");
            case '&': pos++; return token(Kind.AMP, start, "");
            case '(': pos++; return token(Kind.PAREN_L, start, "");
            case ')': pos++; return token(Kind.PAREN_R, start, "");
            case ':': pos++; return token(Kind.COLON, start, "");
            case '=': pos++; return token(Kind.EQUALS, start, "");
            case '@': pos++; return token(Kind.AT, start, "");
            case '[': pos++; return token(Kind.BRACKET_L, start, "");
            case ']': pos++; return token(Kind.BRACKET_R, start, "");
            case '{': pos++; return token(Kind.BRACE_L, start, "");
            case '|': pos++; return token(Kind.PIPE, start, "");
            case '}': pos++; return token(Kind.BRACE_R, start, "");
            case '.':
                if (src.startsWith("...", pos)) {
                    pos += 3;
                    return token(Kind.SPREAD, start, "");
                }
                throw error(pos, "Unexpected character \".\"");
            case '"':
                return src.startsWith("\"\"\"", pos) ? blockString(start) : string(start);
            default:
        }
        if (c == '_' || Character.isLetter(c) && c < 128) {
            while (pos < src.length() && isNameChar(src.charAt(pos))) pos++;
            return token(Kind.NAME, start, src.substring(start, pos));
        }
        if (c == '-' || c >= '0' && c <= '9') return number(start);
        throw error(pos, "Cannot parse the unexpected character " + quote(new String(Character.toChars(src.codePointAt(pos)))) + ".");
    }

    private static boolean isNameChar(char c) {
        return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9';
    }

    private void skipIgnored() {
        while (pos < src.length()) {
            char c = src.charAt(pos);
            if (c == ' ' || c == '\t' || c == ',' || c == '\uFEFF') {
                pos++;
            } else if (c == '\n') {
                pos++;
                line++;
                lineStart = pos;
            } else if (c == '\r') {
                pos++;
                if (pos < src.length() && src.charAt(pos) == '\n') pos++;
                line++;
                lineStart = pos;
            } else if (c == '#') {
                while (pos < src.length() && src.charAt(pos) != '\n' && src.charAt(pos) != '\r') pos++;
            } else {
                return;
            }
        }
    }

    private Token number(int start) {
        boolean isFloat = false;
        if (peek() == '-') pos++;
        if (peek() == '0') {
            pos++;
            if (Character.isDigit(peek())) throw error(pos, "Invalid number, unexpected digit after 0: " + quote(String.valueOf(peek())) + ".");
        } else {
            digits();
        }
        if (peek() == '.') {
            isFloat = true;
            pos++;
            digits();
        }
        if (peek() == 'e' || peek() == 'E') {
            isFloat = true;
            pos++;
            if (peek() == '+' || peek() == '-') pos++;
            digits();
        }
        return token(isFloat ? Kind.FLOAT : Kind.INT, start, src.substring(start, pos));
    }

    private void digits() {
        if (!Character.isDigit(peek())) {
            throw error(pos, pos >= src.length() ? "Invalid number, expected digit but got: <EOF>."
                    : "Invalid number, expected digit but got: " + quote(String.valueOf(peek())) + ".");
        }
        while (Character.isDigit(peek())) pos++;
    }

    private char peek() {
        return pos < src.length() ? src.charAt(pos) : 0;
    }

    private Token string(int start) {
        pos++;
        StringBuilder sb = new StringBuilder();
        while (pos < src.length()) {
            char c = src.charAt(pos);
            if (c == '\n' || c == '\r') break;
            if (c == '"') {
                pos++;
                // gqlparser positions a string at its first character inside the quotes
                return token(Kind.STRING, start + 1, sb.toString());
            }
            if (c < 0x20 && c != '\t') throw error(pos, "Invalid character within String: \\u" + String.format("%04X", (int) c) + ".");
            if (c == '\\') {
                pos++;
                char e = peek();
                switch (e) {
                    case '"' -> sb.append('"');
                    case '\\' -> sb.append('\\');
                    case '/' -> sb.append('/');
                    case 'b' -> sb.append('\b');
                    case 'f' -> sb.append('\f');
                    case 'n' -> sb.append('\n');
                    case 'r' -> sb.append('\r');
                    case 't' -> sb.append('\t');
                    case 'u' -> {
                        if (pos + 5 > src.length()) throw error(pos, "Invalid character escape sequence: \\" + src.substring(pos) + ".");
                        String hex = src.substring(pos + 1, pos + 5);
                        try {
                            sb.append((char) Integer.parseInt(hex, 16));
                        } catch (NumberFormatException ex) {
                            throw error(pos, "Invalid character escape sequence: \\u" + hex + ".");
                        }
                        pos += 4;
                    }
                    default -> throw error(pos, "Invalid character escape sequence: \\" + e + ".");
                }
                pos++;
                continue;
            }
            sb.append(c);
            pos++;
        }
        throw error(pos, "Unterminated string.");
    }

    private Token blockString(int start) {
        int startLine = line;
        int startCol = column(start);
        pos += 3;
        StringBuilder raw = new StringBuilder();
        while (pos < src.length()) {
            if (src.startsWith("\"\"\"", pos)) {
                pos += 3;
                return new Token(Kind.BLOCK_STRING, blockStringValue(raw.toString()), startLine, startCol);
            }
            if (src.startsWith("\\\"\"\"", pos)) {
                raw.append("\"\"\"");
                pos += 4;
                continue;
            }
            char c = src.charAt(pos);
            if (c == '\n' || c == '\r') {
                if (c == '\r' && pos + 1 < src.length() && src.charAt(pos + 1) == '\n') {
                    pos++;
                }
                raw.append('\n');
                pos++;
                line++;
                lineStart = pos;
                continue;
            }
            raw.append(c);
            pos++;
        }
        throw error(pos, "Unterminated string.");
    }

    /** The spec's BlockStringValue(): common indentation removed, blank first and last lines dropped. */
    static String blockStringValue(String raw) {
        String[] lines = raw.split("\n", -1);
        Integer common = null;
        for (int i = 1; i < lines.length; i++) {
            int indent = 0;
            String l = lines[i];
            while (indent < l.length() && (l.charAt(indent) == ' ' || l.charAt(indent) == '\t')) indent++;
            if (indent < l.length() && (common == null || indent < common)) common = indent;
        }
        List<String> out = new ArrayList<>(List.of(lines));
        if (common != null && common > 0) {
            for (int i = 1; i < out.size(); i++) {
                String l = out.get(i);
                out.set(i, l.length() < common ? "" : l.substring(common));
            }
        }
        while (!out.isEmpty() && out.getFirst().isBlank()) out.removeFirst();
        while (!out.isEmpty() && out.getLast().isBlank()) out.removeLast();
        return String.join("\n", out);
    }

    /** Go's strconv.Quote for the characters GraphQL text holds. */
    static String quote(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) sb.append(String.format("\\x%02x", (int) c));
                    else sb.append(c);
                }
            }
        }
        return sb.append('"').toString();
    }
}
