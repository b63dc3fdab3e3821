package dev.coffer.rego.parser;

import dev.coffer.rego.RegoException;

import java.util.ArrayList;
import java.util.List;

/** Splits Rego source into tokens. Strings are unescaped here; numbers stay text. */
final class Lexer {
    private final String src;
    private final String file;
    private int pos;
    private int line = 1;
    private int col = 1;
    /** Comments in source order, text after '#': METADATA blocks are annotations. */
    final List<Comment> comments = new ArrayList<>();

    record Comment(int line, String text) {
    }

    Lexer(String file, String src) {
        this.file = file;
        this.src = src;
    }

    List<Token> tokens() {
        List<Token> out = new ArrayList<>();
        boolean nl = true;
        while (true) {
            boolean space = false;
            // skip whitespace and comments, remembering whether a line ended
            while (pos < src.length()) {
                char c = src.charAt(pos);
                if (c == '\n') {
                    nl = true;
                    space = true;
                    advance();
                } else if (c == ' ' || c == '\t' || c == '\r' || c == '\uFEFF') {
                    space = true;
                    advance();
                } else if (c == '#') {
                    int start = pos, commentLine = line;
                    while (pos < src.length() && src.charAt(pos) != '\n') advance();
                    comments.add(new Comment(commentLine, src.substring(start + 1, pos)));
                } else {
                    break;
                }
            }
            int l = line, cl = col;
            if (pos >= src.length()) {
                out.add(new Token(Token.Kind.EOF, "", l, cl, true, true));
                return out;
            }
            char c = src.charAt(pos);
            Token t;
            if (Character.isLetter(c) || c == '_') {
                int start = pos;
                while (pos < src.length() && (Character.isLetterOrDigit(src.charAt(pos)) || src.charAt(pos) == '_')) advance();
                t = new Token(Token.Kind.IDENT, src.substring(start, pos), l, cl, nl, space);
            } else if (Character.isDigit(c) || (c == '.' && pos + 1 < src.length() && Character.isDigit(src.charAt(pos + 1))
                    && !(out.size() > 0 && isOperandEnd(out.getLast()) && !space))) {
                t = new Token(Token.Kind.NUMBER, number(), l, cl, nl, space);
            } else if (c == '"') {
                t = new Token(Token.Kind.STRING, string(), l, cl, nl, space);
            } else if (c == '`') {
                advance();
                int start = pos;
                while (pos < src.length() && src.charAt(pos) != '`') advance();
                if (pos >= src.length()) throw error(l, cl, "unterminated raw string; close it with `");
                String s = src.substring(start, pos);
                advance();
                t = new Token(Token.Kind.RAW_STRING, s, l, cl, nl, space);
            } else if (c == '$' && pos + 1 < src.length() && (src.charAt(pos + 1) == '"' || src.charAt(pos + 1) == '`')) {
                advance();
                t = new Token(Token.Kind.TEMPLATE, template(l, cl), l, cl, nl, space);
            } else {
                t = punct(c, l, cl, nl, space);
            }
            out.add(t);
            nl = false;
        }
    }

    private static boolean isOperandEnd(Token t) {
        return t.is(Token.Kind.IDENT) || t.is(Token.Kind.RBRACK) || t.is(Token.Kind.RPAREN) || t.is(Token.Kind.RBRACE)
                || t.is(Token.Kind.STRING) || t.is(Token.Kind.NUMBER);
    }

    private Token punct(char c, int l, int cl, boolean nl, boolean space) {
        char n = pos + 1 < src.length() ? src.charAt(pos + 1) : 0;
        Token.Kind k;
        int len = 1;
        switch (c) {
            case '{' -> k = Token.Kind.LBRACE;
            case '}' -> k = Token.Kind.RBRACE;
            case '[' -> k = Token.Kind.LBRACK;
            case ']' -> k = Token.Kind.RBRACK;
            case '(' -> k = Token.Kind.LPAREN;
            case ')' -> k = Token.Kind.RPAREN;
            case ',' -> k = Token.Kind.COMMA;
            case ';' -> k = Token.Kind.SEMI;
            case '.' -> k = Token.Kind.DOT;
            case '+' -> k = Token.Kind.PLUS;
            case '-' -> k = Token.Kind.MINUS;
            case '*' -> k = Token.Kind.STAR;
            case '/' -> k = Token.Kind.SLASH;
            case '%' -> k = Token.Kind.PERCENT;
            case '&' -> k = Token.Kind.AMP;
            case '|' -> k = Token.Kind.BAR;
            case ':' -> {
                if (n == '=') {
                    k = Token.Kind.ASSIGN;
                    len = 2;
                } else k = Token.Kind.COLON;
            }
            case '=' -> {
                if (n == '=') {
                    k = Token.Kind.EQ;
                    len = 2;
                } else k = Token.Kind.UNIFY;
            }
            case '!' -> {
                if (n != '=') throw error(l, cl, "unexpected '!'; did you mean '!=' or 'not'?");
                k = Token.Kind.NEQ;
                len = 2;
            }
            case '<' -> {
                if (n == '=') {
                    k = Token.Kind.LTE;
                    len = 2;
                } else k = Token.Kind.LT;
            }
            case '>' -> {
                if (n == '=') {
                    k = Token.Kind.GTE;
                    len = 2;
                } else k = Token.Kind.GT;
            }
            default -> throw error(l, cl, "unexpected character '" + c + "'");
        }
        String text = src.substring(pos, pos + len);
        for (int i = 0; i < len; i++) advance();
        return new Token(k, text, l, cl, nl, space);
    }

    private String number() {
        int start = pos;
        while (pos < src.length() && Character.isDigit(src.charAt(pos))) advance();
        if (pos < src.length() && src.charAt(pos) == '.' && pos + 1 < src.length() && Character.isDigit(src.charAt(pos + 1))) {
            advance();
            while (pos < src.length() && Character.isDigit(src.charAt(pos))) advance();
        }
        if (pos < src.length() && (src.charAt(pos) == 'e' || src.charAt(pos) == 'E')) {
            int save = pos, sl = line, sc = col;
            advance();
            if (pos < src.length() && (src.charAt(pos) == '+' || src.charAt(pos) == '-')) advance();
            if (pos < src.length() && Character.isDigit(src.charAt(pos))) {
                while (pos < src.length() && Character.isDigit(src.charAt(pos))) advance();
            } else {
                pos = save;
                line = sl;
                col = sc;
            }
        }
        return src.substring(start, pos);
    }

    private String string() {
        int l = line, cl = col;
        advance();
        StringBuilder sb = new StringBuilder();
        while (true) {
            if (pos >= src.length() || src.charAt(pos) == '\n') throw error(l, cl, "unterminated string; close it with \"");
            char c = src.charAt(pos);
            if (c == '"') {
                advance();
                return sb.toString();
            }
            if (c == '\\') {
                escape(sb, l, cl);
            } else {
                sb.append(c);
                advance();
            }
        }
    }

    private void escape(StringBuilder sb, int l, int cl) {
        advance();
        if (pos >= src.length()) throw error(l, cl, "unterminated string escape");
        char e = src.charAt(pos);
        advance();
        switch (e) {
            case '"' -> sb.append('"');
            case '\\' -> sb.append('\\');
            case '/' -> sb.append('/');
            case 'b' -> sb.append('\b');
            case 'f' -> sb.append('\f');
            case 'n' -> sb.append('\n');
            case 'r' -> sb.append('\r');
            case 't' -> sb.append('\t');
            case '{' -> sb.append("\\{");
            case 'u' -> {
                if (pos + 4 > src.length()) throw error(l, cl, "bad \\u escape in string; use four hex digits");
                String hex = src.substring(pos, pos + 4);
                try {
                    sb.append((char) Integer.parseInt(hex, 16));
                } catch (NumberFormatException ex) {
                    throw error(l, cl, "bad \\u escape '\\u" + hex + "' in string; use four hex digits");
                }
                for (int i = 0; i < 4; i++) advance();
            }
            default -> throw error(l, cl, "invalid escape '\\" + e + "' in string");
        }
    }

    /**
     * Template strings are kept as raw text with escapes resolved except {@code \{}; the
     * parser splits it into literal parts and embedded expressions.
     */
    private String template(int l, int cl) {
        char q = src.charAt(pos);
        advance();
        StringBuilder sb = new StringBuilder();
        int depth = 0;
        while (true) {
            if (pos >= src.length()) throw error(l, cl, "unterminated template string");
            char c = src.charAt(pos);
            if (depth == 0 && c == q) {
                advance();
                return sb.toString();
            }
            if (q == '"' && c == '\\' && depth == 0) {
                escape(sb, l, cl);
                continue;
            }
            if (c == '\\' && depth == 0 && pos + 1 < src.length() && src.charAt(pos + 1) == '{') {
                // raw template: "\{" is a literal brace, kept escaped for the parser
                sb.append("\\{");
                advance();
                advance();
                continue;
            }
            if (c == '{') depth++;
            if (c == '}' && depth > 0) depth--;
            if (depth > 0 && c == '"') {
                // a string inside an embedded expression: copy it verbatim, quotes and escapes included
                sb.append(c);
                advance();
                while (pos < src.length() && src.charAt(pos) != '"') {
                    if (src.charAt(pos) == '\\') {
                        sb.append('\\');
                        advance();
                    }
                    sb.append(src.charAt(pos));
                    advance();
                }
                if (pos >= src.length()) throw error(l, cl, "unterminated string in template");
            }
            sb.append(src.charAt(pos));
            advance();
        }
    }

    private void advance() {
        if (src.charAt(pos) == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
        pos++;
    }

    private RegoException error(int l, int c, String msg) {
        return new RegoException("rego_parse_error", file + ":" + l + ":" + c, msg);
    }
}
