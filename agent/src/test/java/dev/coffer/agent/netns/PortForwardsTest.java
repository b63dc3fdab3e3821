package dev.coffer.agent.netns;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A launcher asking to forward the SKR API's port gets nothing, not even the other ports it named. */
class PortForwardsTest {
    @Test
    void theSkrPortIsNeverForwardedAndNothingIsLeftListening() throws Exception {
        int other;
        try (ServerSocket free = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            other = free.getLocalPort();
        }
        IOException e = assertThrows(IOException.class, () -> PortForwards.start(InetAddress.getLoopbackAddress(),
                List.of(other, 8081), Path.of("/nonexistent/netns"), 8081));
        assertTrue(e.getMessage().contains("other than 8081, the group's SKR API"), e.getMessage());
        // the relay opened for the first port before the refusal was closed again: the port binds
        try (ServerSocket again = new ServerSocket()) {
            again.setReuseAddress(true);
            again.bind(new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), other));
        }
    }
}
