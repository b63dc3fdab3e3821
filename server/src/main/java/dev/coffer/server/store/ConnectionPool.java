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
 * A connection that failed at the network level is replaced rather than handed out again, and
 * so are the idle ones opened before it (after a database restart they are all dead). A
 * connection that sat idle for a while is checked before it is handed out, so the first
 * requests after an outage do not fail on connections the outage killed.
 */
final class ConnectionPool implements AutoCloseable {
    private final String url;
    private final Properties props;
    private final Dialect dialect;
    private final BlockingQueue<Connection> idle;
    private final List<Connection> all = new ArrayList<>();
    private final java.util.concurrent.atomic.AtomicInteger missing = new java.util.concurrent.atomic.AtomicInteger();
    private final java.util.Map<Connection, Long> idleSince = new java.util.concurrent.ConcurrentHashMap<>();
    private volatile boolean closed;
    /** Idle longer than this, a connection is validated (one round trip) before use. */
    private static final long VALIDATE_AFTER_NANOS = TimeUnit.SECONDS.toNanos(1);

    ConnectionPool(String url, Properties props, Dialect dialect, int size) throws SQLException {
        this.url = url;
        this.props = props;
        this.dialect = dialect;
        this.idle = new ArrayBlockingQueue<>(size);
        for (int i = 0; i < size; i++) offer(open());
    }

    private void offer(Connection c) {
        idleSince.put(c, System.nanoTime());
        idle.offer(c);
    }

    private Connection open() throws SQLException {
        Properties p = new Properties();
        p.putAll(props);
        if (dialect == Dialect.POSTGRESQL) {
            // An unreachable database must fail a request within seconds (503), not hang it;
            // settings in the URL win over these.
            if (!url.contains("connectTimeout=")) p.setProperty("connectTimeout", "5");
            if (!url.contains("loginTimeout=")) p.setProperty("loginTimeout", "5");
            if (!url.contains("ApplicationName=")) p.setProperty("ApplicationName", "coffer-server");
        }
        Connection c = DriverManager.getConnection(url, p);
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
        if (ready != null) return checked(ready);
        if (takeMissingSlot()) {
            try {
                return open();
            } catch (SQLException e) {
                missing.incrementAndGet();
                throw e;
            }
        }
        try {
            Connection c = idle.poll(30, TimeUnit.SECONDS);
            if (c == null) throw new SQLException("no database connection free within 30 s", "08000");
            return checked(c);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SQLException("interrupted while waiting for a database connection");
        }
    }

    /** Claims one slot whose connection was closed (to reopen it); false when none is missing. */
    private boolean takeMissingSlot() {
        for (int m = missing.get(); m > 0; m = missing.get()) {
            if (missing.compareAndSet(m, m - 1)) return true;
        }
        return false;
    }

    /** Connections open right now, and how many of them are idle (for /metrics). */
    int openCount() {
        synchronized (all) {
            return all.size();
        }
    }

    int idleCount() {
        return idle.size();
    }

    /** Hands out {@code c}, or a fresh connection in its place when it idled and no longer answers. */
    private Connection checked(Connection c) throws SQLException {
        Long since = idleSince.remove(c);
        if (dialect == Dialect.SQLITE || since == null || System.nanoTime() - since < VALIDATE_AFTER_NANOS) return c;
        boolean valid;
        try {
            valid = c.isValid(2);
        } catch (SQLException e) {
            valid = false;
        }
        if (valid) return c;
        discard(c);
        try {
            return open();
        } catch (SQLException e) {
            missing.incrementAndGet();
            throw e;
        }
    }

    private void discard(Connection c) {
        try {
            c.close();
        } catch (SQLException ignored) {
            // already unusable
        }
        synchronized (all) {
            all.remove(c);
        }
    }

    void giveBack(Connection c, boolean broken) {
        if (broken && !closed) {
            // The connection broke: the database went away or restarted, and the idle ones
            // opened before are as dead. Close them; borrow() opens fresh ones on demand.
            for (Connection stale; (stale = idle.poll()) != null; ) {
                idleSince.remove(stale);
                discard(stale);
                missing.incrementAndGet();
            }
        }
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
        offer(c);
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
