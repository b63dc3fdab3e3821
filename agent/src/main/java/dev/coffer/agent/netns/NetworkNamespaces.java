package dev.coffer.agent.netns;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Runs a piece of code inside another network namespace — the group's — without moving the
 * agent there. Linux keeps namespaces per thread, and a socket keeps the namespace it was created
 * in for life; so a dedicated platform thread joins the namespace with setns(2), creates what it
 * must (a listening socket), returns to the agent's namespace and ends. Everything else in the
 * agent, in particular its outbound calls to the attestation service and key vault, stays in the
 * host's namespace.
 *
 * <p>Why a platform thread: a virtual thread would switch its carrier, which then runs other
 * virtual threads in the wrong namespace. A thread the action starts inherits the namespace, so
 * actions start none that connect anywhere (the JDK's HttpServer starts only its idle-connection
 * timer there, which closes connections and opens none).
 */
public final class NetworkNamespaces {
    /** CLONE_NEWNET from linux/sched.h: setns must join a network namespace and nothing else. */
    static final int CLONE_NEWNET = 0x40000000;
    private static final int O_RDONLY_CLOEXEC = 0x80000;

    private NetworkNamespaces() {}

    /** This process's network namespace: the host's, for the agent of a process sandbox, the shim and the runtime. */
    static final Path OWN = Path.of("/proc/self/ns/net");

    /**
     * Whether {@code file} (an nsfs file, or a /proc/self/fd/N of one) is this process's own
     * network namespace, the host's: a namespace is one inode of nsfs, so the same device and
     * inode is the same namespace. False when either cannot be read (the caller's own check says
     * why), so this answers "is it the host's" and never "is it a namespace".
     */
    public static boolean isOwn(Path file) {
        try {
            return Files.getAttribute(file, "unix:ino").equals(Files.getAttribute(OWN, "unix:ino"))
                    && Files.getAttribute(file, "unix:dev").equals(Files.getAttribute(OWN, "unix:dev"));
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    /** Code that creates something inside the namespace. */
    @FunctionalInterface
    public interface Action<T> {
        T run() throws IOException;
    }

    /**
     * Runs {@code action} on a new platform thread that has joined the network namespace at
     * {@code namespaceFile} (an nsfs bind mount, e.g. the group's {@code netns} file) and
     * returns its result.
     *
     * @throws IOException when the namespace cannot be joined (not root, not a namespace file) or the action fails
     */
    public static <T> T call(Path namespaceFile, Action<T> action) throws IOException {
        AtomicReference<T> result = new AtomicReference<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = Thread.ofPlatform().name("coffer-netns-" + namespaceFile.getFileName()).unstarted(() -> {
            try {
                result.set(inside(namespaceFile, action));
            } catch (Throwable e) {
                failure.set(e);
            }
        });
        t.start();
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while working in the network namespace " + namespaceFile, e);
        }
        Throwable f = failure.get();
        if (f instanceof IOException io) throw io;
        if (f instanceof RuntimeException re) throw re;
        if (f instanceof Error err) throw err;
        return result.get();
    }

    private static <T> T inside(Path namespaceFile, Action<T> action) throws Throwable {
        Linker linker = Linker.nativeLinker();
        MemoryLayout errnoLayout = Linker.Option.captureStateLayout();
        VarHandle errno = errnoLayout.varHandle(MemoryLayout.PathElement.groupElement("errno"));
        var libc = linker.defaultLookup();
        MethodHandle open = linker.downcallHandle(libc.find("open").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT),
                Linker.Option.captureCallState("errno"));
        MethodHandle setns = linker.downcallHandle(libc.find("setns").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT),
                Linker.Option.captureCallState("errno"));
        MethodHandle close = linker.downcallHandle(libc.find("close").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(errnoLayout);
            int home = (int) open.invokeExact(state, arena.allocateFrom("/proc/thread-self/ns/net"), O_RDONLY_CLOEXEC);
            if (home < 0) {
                throw new IOException("cannot open this thread's network namespace /proc/thread-self/ns/net (errno "
                        + (int) errno.get(state, 0L) + ")");
            }
            try {
                int target = (int) open.invokeExact(state, arena.allocateFrom(namespaceFile.toString()), O_RDONLY_CLOEXEC);
                if (target < 0) {
                    throw new IOException("cannot open the network namespace " + namespaceFile + " (errno "
                            + (int) errno.get(state, 0L) + "); expected the group's nsfs bind mount");
                }
                try {
                    if ((int) setns.invokeExact(state, target, CLONE_NEWNET) != 0) {
                        int e = (int) errno.get(state, 0L);
                        throw new IOException("cannot join the network namespace " + namespaceFile + " (setns errno " + e
                                + (e == 1 ? ": the agent needs CAP_SYS_ADMIN" : e == 22 ? ": not a network namespace" : "") + ")");
                    }
                } finally {
                    int ignored = (int) close.invokeExact(target);
                }
                try {
                    return action.run();
                } finally {
                    // The thread ends right after; going back anyway keeps it harmless if it ever lives on.
                    int back = (int) setns.invokeExact(state, home, CLONE_NEWNET);
                    if (back != 0) {
                        throw new IllegalStateException("cannot return to the agent's network namespace (errno "
                                + (int) errno.get(state, 0L) + ")");
                    }
                }
            } finally {
                int ignored = (int) close.invokeExact(home);
            }
        }
    }
}
