package dev.coffer.policy.enforce;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.coffer.rego.value.Json;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** The limits' verdicts and the field paths they name, on real create_container inputs. */
class RequestLimitsTest {
    private static ObjectNode create() {
        return RequestCodec.toInput(Fixtures.webCreate("c-web"));
    }

    @Test
    void honestRequestIsWithinLimits() {
        assertNull(RequestLimits.violation(create()));
    }

    @Test
    void violationNamesTheFieldPathThroughListsAndObjects() {
        ObjectNode in = create();
        ArrayNode mounts = (ArrayNode) in.get("mounts");
        ObjectNode second = mounts.addObject();
        second.put("destination", "/x").put("source", "y".repeat(RequestLimits.MAX_STRING + 1));
        assertEquals("mounts[" + (mounts.size() - 1) + "].source: " + (RequestLimits.MAX_STRING + 1)
                + " characters (limit " + RequestLimits.MAX_STRING + ")", RequestLimits.violation(in));

        ObjectNode nestedList = create();
        ArrayNode inner = ((ArrayNode) nestedList.get("mounts")).addObject().putArray("options");
        inner.add("rw").add("z".repeat(RequestLimits.MAX_STRING + 5));
        assertEquals("mounts[" + (nestedList.get("mounts").size() - 1) + "].options[1]: "
                + (RequestLimits.MAX_STRING + 5) + " characters (limit " + RequestLimits.MAX_STRING + ")",
                RequestLimits.violation(nestedList));

        ObjectNode longList = create();
        ArrayNode env = longList.putArray("envList");
        for (int i = 0; i <= RequestLimits.MAX_LIST; i++) env.add("V" + i + "=1");
        assertEquals("envList: " + (RequestLimits.MAX_LIST + 1) + " entries (limit " + RequestLimits.MAX_LIST + ")",
                RequestLimits.violation(longList));
    }

    @Test
    void deepNestingIsRefusedWithItsPath() {
        ObjectNode in = create();
        JsonNode deep = Json.MAPPER.valueToTree(List.of(List.of(List.of(List.of(List.of(List.of(List.of(List.of(List.of("x"))))))))));
        in.set("argList", deep);
        assertEquals("argList[0][0][0][0][0][0][0][0]: nested deeper than any enforcement input", RequestLimits.violation(in));
        assertNull(RequestLimits.violation(JsonNodeFactory.instance.objectNode().set("a",
                Json.MAPPER.valueToTree(List.of(List.of("x"))))));
    }
}
