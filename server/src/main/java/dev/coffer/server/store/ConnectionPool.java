package dev.coffer.server.store;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A fixed set of connections handed out one caller at a time. For SQLite in WAL mode readers
 * proceed alongside the one writer; writers queue on the busy timeout (every write
 * transaction starts with its write, so none has to upgrade a read lock and fail).
 * A connection that failed at the network level is replaced rather than handed out again.
 */
final class ConnectionPool implements AutoCloseable {
    private final String url;
    private final Properties props;
    private final Dialect dialect;
    private final BlockingQueue<Connection> idle;
    private final List<Connection> all = new ArrayList<>();
    private final java.util.concurrent.atomic.AtomicInteger missing = new java.util.concurrent.atomic.AtomicInteger();
    private volatile boolean closed;

    ConnectionPool(String url, Properties props, Dialect dialect, int size) throws SQLException {
        this.url = url;
        this.props = props;
        this.dialect = dialect;
        this.idle = new ArrayBlockingQueue<>(size);
        for (int i = 0; i < size; i++) idle.add(open());
    }

    private Connection open() throws SQLException {
        Connection c = DriverManager.getConnection(url, props);
        if (dialect == Dialect.SQLITE) {
            try (Statement s = c.createStatement()) {
                s.execute("PRAGMA journal_mode=WAL");
                // FULL: a commit is on disk (WAL fsynced) before the caller hears "created".
                s.execute("PRAGMA synchronous=FULL");
                s.execute("PRAGMA busy_timeout=10000");
                s.execute("PRAGMA foreign_keys=ON");
            }
        }
        synchronized (all) {
            all.add(c);
        }
        return c;
    }

    Connection borrow() throws SQLException {
        if (closed) throw new SQLException("the key store is closed");
        Connection ready = idle.poll();
        if (ready != null) return ready;
        if (missing.get() > 0 && missing.getAndDecrement() > 0) {
            try {
                return open();
            } catch (SQLException e) {
                missing.incrementAndGet();
                throw e;
            }
        }
        try {
            Connection c = idle.poll(30, TimeUnit.SECONDS);
            if (c == null) throw new SQLException("no database connection free within 30 s");
            return c;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SQLException("interrupted while waiting for a database connection");
        }
    }

    void giveBack(Connection c, boolean broken) {
        if (broken || closed) {
            try {
                c.close();
            } catch (SQLException ignored) {
                // already unusable
            }
            synchronized (all) {
                all.remove(c);
            }
            if (closed) return;
            try {
                c = open();
            } catch (SQLException e) {
                // The database is down: borrow() reopens the slot once it is back.
                missing.incrementAndGet();
                return;
            }
        }
        idle.offer(c);
    }

    @Override
    public void close() {
        closed = true;
        synchronized (all) {
            for (Connection c : all) {
                try {
                    c.close();
                } catch (SQLException ignored) {
                    // closing anyway
                }
            }
            all.clear();
        }
    }
}
