package dev.coffer.shim.task;

import com.google.protobuf.Any;
import com.google.protobuf.Message;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Publishes task events to containerd the way runtime v2 shims of containerd 1.x may: by running
 * the {@code -publish-binary} ({@code containerd --address A publish --topic T --namespace N}) with the
 * event, a protobuf Any, on stdin. One event at a time, in the order they were raised: a single
 * worker drains the queue, so TaskExit can never overtake TaskStart.
 */
public final class EventPublisher implements AutoCloseable {
    /** The topics containerd's task events use (containerd runtime/events.go). */
    public static final String TASK_CREATE = "/tasks/create";
    public static final String TASK_START = "/tasks/start";
    public static final String TASK_EXIT = "/tasks/exit";
    public static final String TASK_DELETE = "/tasks/delete";
    public static final String TASK_EXEC_ADDED = "/tasks/exec-added";
    public static final String TASK_EXEC_STARTED = "/tasks/exec-started";

    private final Path binary;
    private final String address;
    private final String namespace;
    private final Consumer<String> log;
    private final ExecutorService worker = Executors.newSingleThreadExecutor(r -> Thread.ofPlatform().daemon(true).name("events").unstarted(r));

    /** @param binary null: events are logged only (no containerd to tell, e.g. the shim started by hand) */
    public EventPublisher(Path binary, String address, String namespace, Consumer<String> log) {
        this.binary = binary;
        this.address = address;
        this.namespace = namespace;
        this.log = log;
    }

    /** Queues one event; failures are logged (containerd polls State too), never thrown at the caller. */
    public void publish(String topic, Message event) {
        // containerd's typeurl names its events by their proto full name, without a type.googleapis.com/ prefix
        byte[] any = Any.newBuilder().setTypeUrl(event.getDescriptorForType().getFullName()).setValue(event.toByteString())
                .build().toByteArray();
        worker.execute(() -> send(topic, any));
    }

    private void send(String topic, byte[] any) {
        if (binary == null) {
            log.accept("event " + topic + " not published: no -publish-binary given");
            return;
        }
        List<String> cmd = List.of(binary.toString(), "--address", address, "publish", "--topic", topic, "--namespace", namespace);
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            try (OutputStream in = p.getOutputStream()) {
                in.write(any);
            }
            String out = new String(p.getInputStream().readAllBytes()).strip();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                log.accept("event " + topic + " not published: " + binary + " did not finish within 30 s");
            } else if (p.exitValue() != 0) {
                log.accept("event " + topic + " not published: " + binary + " exited " + p.exitValue() + ": " + out);
            }
        } catch (IOException e) {
            log.accept("event " + topic + " not published: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Sends what is queued (bounded), then stops. */
    @Override
    public void close() {
        worker.shutdown();
        try {
            worker.awaitTermination(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
