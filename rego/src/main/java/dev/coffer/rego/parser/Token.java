package dev.coffer.rego.parser;

/** A lexical token; {@code newlineBefore} lets the parser treat line ends as separators. */
record Token(Kind kind, String text, int line, int column, boolean newlineBefore, boolean spaceBefore) {
    enum Kind {
        IDENT, STRING, RAW_STRING, TEMPLATE, NUMBER, EOF,
        LBRACE, RBRACE, LBRACK, RBRACK, LPAREN, RPAREN,
        COMMA, SEMI, DOT, COLON, ASSIGN, UNIFY, EQ, NEQ, LT, LTE, GT, GTE,
        PLUS, MINUS, STAR, SLASH, PERCENT, AMP, BAR
    }

    boolean is(Kind k) {
        return kind == k;
    }

    boolean isIdent(String word) {
        return kind == Kind.IDENT && text.equals(word);
    }
}
