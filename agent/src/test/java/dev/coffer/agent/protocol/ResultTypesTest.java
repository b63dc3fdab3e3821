package dev.coffer.agent.protocol;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Every result record is a registered subtype, or the host cannot read the agent's answer (found missing for volume_formatted). */
class ResultTypesTest {
    @Test
    void everyResultRecordIsRegisteredAndRoundTrips() throws Exception {
        List<String> registered = Arrays.stream(Result.class.getAnnotation(JsonSubTypes.class).value())
                .map(t -> t.value().getName()).sorted().toList();
        List<String> declared = Arrays.stream(Result.class.getPermittedSubclasses()).map(Class::getName).sorted().toList();
        assertEquals(declared, registered);
        Result.VolumeFormatted formatted = new Result.VolumeFormatted("ab".repeat(32), "hmac-sha256", 32L << 20);
        String json = Protocol.MAPPER.writerFor(Result.class).writeValueAsString(formatted);
        assertEquals(formatted, Protocol.MAPPER.readerFor(Result.class).readValue(json));
    }
}
