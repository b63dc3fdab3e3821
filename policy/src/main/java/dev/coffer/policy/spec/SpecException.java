package dev.coffer.policy.spec;

/**
 * A group spec that cannot be used. The message reads {@code FILE:LINE:COLUMN: FIELD: expected
 * ..., found ...}, so editors and people can jump to the spot.
 */
public final class SpecException extends java.io.IOException {
    private final String file;
    private final int line;
    private final int column;
    private final String field;

    public SpecException(String file, int line, int column, String field, String problem) {
        super(file + ":" + line + ":" + column + ": " + (field.isEmpty() ? "" : field + ": ") + problem);
        this.file = file;
        this.line = line;
        this.column = column;
        this.field = field;
    }

    public String file() {
        return file;
    }

    public int line() {
        return line;
    }

    public int column() {
        return column;
    }

    public String field() {
        return field;
    }
}
