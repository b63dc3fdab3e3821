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

/**
 * A network namespace made by someone else that the group adopts as its own: a Kubernetes pod's,
 * which containerd creates through CNI (its interfaces, addresses and routes are the pod's) and
 * names by an nsfs file such as {@code /var/run/netns/cni-UUID}.
 *
 * <p>The host names the file, so it is checked on an open descriptor, never by name alone: the
 * descriptor must be a namespace (nsfs answers the {@code NS_GET_NSTYPE} ioctl), of type network,
 * and not the agent's own namespace (adopting the host's would put the group's loopback-only
 * services, the SKR API among them, on the host's loopback, and would make the sandbox's clean-up,
 * which ends every process of the group's namespace, end the host's). The bind mount is then made
 * from that very descriptor ({@code /proc/self/fd/N}), so a file swapped after the check is not
 * what gets mounted.
 *
 * <p>The bind is the group's reference to the namespace, removed with the group; the file it came
 * from belongs to its creator (containerd deletes it when the pod goes) and is never touched.
 */
public final class AdoptedNamespace {
    /** NS_GET_NSTYPE from linux/nsfs.h: _IO(0xb7, 0x3). */
    private static final long NS_GET_NSTYPE = 0xb703L;
    private static final int MS_BIND = 0x1000;
    /**
     * O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY: a FIFO swapped in after the type check must not
     * block the agent's start, and no terminal may become its controlling one.
     */
    private static final int OPEN_FLAGS = 0x80000 | 0x800 | 0x100;
    private static final int ENOTTY = 25;

    private AdoptedNamespace() {}

    /** The namespace cannot be adopted; the message says what was expected, what was found and what to do. */
    public static final class RefusedException extends IOException {
        RefusedException(String message) {
            super(message);
        }
    }

    /**
     * Bind-mounts the network namespace named by {@code given} onto {@code target} (an existing
     * empty file), after checking it is one and is not the agent's own.
     *
     * @throws RefusedException when {@code given} is missing, not a namespace, another kind of
     *                          namespace, or the agent's own network namespace; nothing is mounted then
     * @throws IOException      when the bind mount itself fails (not root)
     */
    public static void bind(Path given, Path target) throws IOException {
        checkOrBind(given, target);
    }

    /**
     * Checks, without mounting anything, that {@code given} names a network namespace other than
     * the agent's own: what {@link #bind} checks, done before anything of the group is prepared.
     *
     * @throws RefusedException as {@link #bind} does
     */
    public static void check(Path given) throws IOException {
        checkOrBind(given, null);
    }

    private static void checkOrBind(Path given, Path target) throws IOException {
        if (!given.isAbsolute()) {
            throw new RefusedException("expected the pod's network namespace as an absolute path (an nsfs file such as"
                    + " /var/run/netns/cni-UUID), found \"" + given + "\"");
        }
        // nsfs files stat as regular files; anything else (a directory, device, FIFO, socket) is not
        // opened at all, since opening some of them has effects or blocks
        if (!Files.exists(given)) {
            throw new RefusedException("expected the pod's network namespace at " + given + " (an nsfs file, as"
                    + " containerd's CNI setup makes), found no such file; the sandbox task's spec must name the"
                    + " namespace containerd created for the pod");
        }
        if (!Files.isRegularFile(given)) {
            throw notANamespace(given, Files.isDirectory(given) ? "a directory" : "a device, FIFO or socket");
        }
        Linker linker = Linker.nativeLinker();
        MemoryLayout errnoLayout = Linker.Option.captureStateLayout();
        VarHandle errno = errnoLayout.varHandle(MemoryLayout.PathElement.groupElement("errno"));
        var libc = linker.defaultLookup();
        Linker.Option captureErrno = Linker.Option.captureCallState("errno");
        MethodHandle open = linker.downcallHandle(libc.find("open").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT), captureErrno);
        MethodHandle ioctl = linker.downcallHandle(libc.find("ioctl").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG), captureErrno);
        MethodHandle mount = linker.downcallHandle(libc.find("mount").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                        ValueLayout.JAVA_LONG, ValueLayout.ADDRESS), captureErrno);
        MethodHandle close = linker.downcallHandle(libc.find("close").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(errnoLayout);
            int fd = (int) open.invokeExact(state, arena.allocateFrom(given.toString()), OPEN_FLAGS);
            if (fd < 0) {
                int e = (int) errno.get(state, 0L);
                throw new RefusedException("expected the pod's network namespace at " + given + " (an nsfs file, as"
                        + " containerd's CNI setup makes), found " + (e == 2 ? "no such file" : "a path that cannot be opened (errno " + e + ")")
                        + "; the sandbox task's spec must name the namespace containerd created for the pod");
            }
            try {
                int type = (int) ioctl.invokeExact(state, fd, NS_GET_NSTYPE);
                if (type < 0) {
                    int e = (int) errno.get(state, 0L);
                    throw notANamespace(given, "a regular file" + (e == ENOTTY ? "" : " (ioctl errno " + e + ")"));
                }
                if (type != NetworkNamespaces.CLONE_NEWNET) {
                    throw new RefusedException("expected a network namespace at " + given + ", found a " + kind(type)
                            + " namespace; the sandbox task's spec names it as the pod's network namespace: fix the spec");
                }
                Path self = Path.of("/proc/self/fd/" + fd);
                if (NetworkNamespaces.isOwn(self)) {
                    throw new RefusedException("expected a network namespace of the pod's own at " + given + ", found the"
                            + " agent's (the host's) network namespace; a group never shares the host's network (its"
                            + " loopback services would be the host's): run the pod with hostNetwork, which gets a"
                            + " namespace of the group's own, or give it a pod network through CNI");
                }
                if (target == null) return;
                int rc = (int) mount.invokeExact(state, arena.allocateFrom(self.toString()), arena.allocateFrom(target.toString()),
                        MemorySegment.NULL, (long) MS_BIND, MemorySegment.NULL);
                if (rc != 0) {
                    int e = (int) errno.get(state, 0L);
                    throw new IOException("cannot bind the pod's network namespace " + given + " onto " + target + " (mount errno "
                            + e + (e == 1 ? ": the agent needs CAP_SYS_ADMIN" : "") + ")");
                }
            } finally {
                int ignored = (int) close.invokeExact(fd);
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("native call failed: " + t, t);
        }
    }

    private static RefusedException notANamespace(Path given, String found) {
        return new RefusedException("expected the pod's network namespace at " + given + " to be a namespace file"
                + " (nsfs, as /proc/PID/ns/net or containerd's /var/run/netns/cni-UUID), found " + found
                + "; refusing to start the group in it");
    }

    /** Whether two paths (magic links followed) name one inode of one device. */

    /** The kind of namespace a CLONE_NEW* flag from NS_GET_NSTYPE names. */
    private static String kind(int type) {
        return switch (type) {
            case 0x00020000 -> "mount";
            case 0x02000000 -> "cgroup";
            case 0x04000000 -> "UTS";
            case 0x08000000 -> "IPC";
            case 0x10000000 -> "user";
            case 0x20000000 -> "PID";
            case 0x00000080 -> "time";
            default -> "unknown (type 0x" + Integer.toHexString(type) + ")";
        };
    }
}
