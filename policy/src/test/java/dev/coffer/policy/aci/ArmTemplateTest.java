package dev.coffer.policy.aci;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ArmTemplateTest {
    static final String TEMPLATE = """
            {
              "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
              "contentVersion": "1.0.0.0",
              "parameters": {
                "registry": {"type": "string", "defaultValue": "contoso.azurecr.io"},
                "tag": {"type": "string", "defaultValue": "1.0"},
                "secretToken": {"type": "securestring"},
                "port": {"type": "int", "defaultValue": 8080}
              },
              "variables": {
                "image": "[concat(parameters('registry'), '/web:', parameters('tag'))]",
                "appName": "[concat('web-', variables('suffix'))]",
                "suffix": "prod",
                "literal": "[[not an expression]"
              },
              "resources": [
                {"type": "Microsoft.Network/virtualNetworks", "name": "ignored", "properties": {}},
                {
                  "type": "Microsoft.ContainerInstance/containerGroups",
                  "name": "[variables('appName')]",
                  "properties": {
                    "volumes": [{"name": "cache", "emptyDir": {}}, {"name": "creds", "secret": {"a": "b"}}],
                    "containers": [{
                      "name": "web",
                      "properties": {
                        "image": "[variables('image')]",
                        "command": ["/bin/web", "--port", "[concat('', parameters('port'))]"],
                        "environmentVariables": [
                          {"name": "MODE", "value": "[variables('literal')]"},
                          {"name": "TOKEN", "value": "[parameters('secretToken')]"},
                          {"name": "PASSWORD", "secureValue": "hunter2"},
                          {"name": "QUOTE", "value": "[concat('it''s', ' ', 'fine')]"}
                        ],
                        "volumeMounts": [{"name": "cache", "mountPath": "/cache"}, {"name": "creds", "mountPath": "/creds", "readOnly": true}],
                        "securityContext": {"privileged": false, "allowPrivilegeEscalation": false, "runAsUser": 1000, "runAsGroup": "2000",
                                            "capabilities": {"add": ["CAP_NET_ADMIN"], "drop": ["CAP_KILL"]}},
                        "livenessProbe": {"exec": {"command": ["/bin/health", "--live"]}},
                        "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}}
                      }
                    }]
                  }
                }
              ]
            }
            """;

    @Test
    void parametersVariablesAndConcatResolveAsAcipolicygenResolvesThem() {
        AciGroup g = ArmTemplate.parse(TEMPLATE, null, "t.json").getFirst();
        assertEquals("web-prod", g.name());
        assertEquals(Map.of("cache", "emptyDir", "creds", "secret"), g.volumes());
        AciGroup.Container c = g.containers().getFirst();
        assertEquals("contoso.azurecr.io/web:1.0", c.image());
        assertEquals(List.of("/bin/web", "--port", "8080"), c.command());
        assertEquals(List.of(new AciGroup.EnvVar("MODE", "[not an expression]", false),
                // a parameter without a value anywhere, and a secret: any value, as acipolicygen writes them
                new AciGroup.EnvVar("TOKEN", ".*", true), new AciGroup.EnvVar("PASSWORD", ".*", true),
                new AciGroup.EnvVar("QUOTE", "it's fine", false)), c.env());
        assertEquals(List.of(new AciGroup.VolumeMount("cache", "/cache", false), new AciGroup.VolumeMount("creds", "/creds", true)),
                c.volumeMounts());
        assertEquals(new AciGroup.SecurityContext(false, false, 1000L, 2000L, List.of("CAP_NET_ADMIN"), List.of("CAP_KILL"), null),
                c.security());
        assertEquals(List.of(List.of("/bin/health", "--live")), c.execProbes(), "only exec probes become exec processes");
    }

    @Test
    void aParametersFileOverridesDefaultsAndSuppliesMissingValues() {
        String params = """
                {"parameters": {"tag": {"value": "2.0"}, "secretToken": {"value": "abc"}}}
                """;
        AciGroup.Container c = ArmTemplate.parse(TEMPLATE, params, "t.json").getFirst().containers().getFirst();
        assertEquals("contoso.azurecr.io/web:2.0", c.image());
        assertEquals(new AciGroup.EnvVar("TOKEN", "abc", false), c.env().get(1));
    }

    @Test
    void aContainerWithoutCommandOrSecurityContextKeepsTheDefaults() {
        AciGroup.Container c = ArmTemplate.parse(template("\"image\": \"a.example/b:1\""), null, "t.json").getFirst().containers().getFirst();
        assertNull(c.command());
        assertEquals(AciGroup.SecurityContext.DEFAULT, c.security());
        assertEquals(List.of(), c.env());
    }

    static String template(String containerProperties) {
        return """
                {"parameters": {"img": {"type": "string"}}, "variables": {"loop": "[variables('loop')]"},
                 "resources": [{"type": "Microsoft.ContainerInstance/containerGroups", "name": "g",
                   "properties": {"containers": [{"name": "c", "properties": {%s}}]}}]}
                """.formatted(containerProperties);
    }

    static String error(String template, String params) {
        return assertThrows(ArmTemplateException.class, () -> ArmTemplate.parse(template, params, "t.json")).getMessage();
    }

    @Test
    void malformedTemplatesGetAnErrorNamingThePlace() {
        assertTrue(error("{\"resources\": [", null).startsWith("t.json: not JSON:"), error("{\"resources\": [", null));
        assertEquals("t.json: expected the template to be a JSON object, found array", error("[]", null));
        assertEquals("t.json: resources: expected an array of resources, found object", error("{\"resources\": {}}", null));
        assertTrue(error("{\"resources\": [{\"type\": \"Microsoft.Web/sites\"}]}", null).contains("no resource of type"));
        String noImage = error(template("\"command\": [\"x\"]"), null);
        assertEquals("t.json: resources[0].properties.containers[0].properties.image: expected a string, found nothing", noImage);
        String unset = error(template("\"image\": \"[parameters('img')]\""), null);
        assertTrue(unset.startsWith("t.json: resources[0].properties.containers[0].properties.image: parameter 'img' has no defaultValue"),
                unset);
        String unknownFn = error(template("\"image\": \"[toLower('A')]\""), null);
        assertTrue(unknownFn.contains("properties.image") && unknownFn.contains("function 'toLower' is not resolved"), unknownFn);
        String syntax = error(template("\"image\": \"[concat('a', ]\""), null);
        assertTrue(syntax.contains("properties.image: in expression [concat('a', ] at column 13: expected a value"), syntax);
        String unclosed = error(template("\"image\": \"[concat('a]\""), null);
        assertTrue(unclosed.contains("expected a closing quote"), unclosed);
        String property = error(template("\"image\": \"[parameters('img').name]\""), null);
        assertTrue(property.contains("no property access"), property);
        String undeclared = error(template("\"image\": \"[parameters('nope')]\""), null);
        assertTrue(undeclared.contains("the template declares no parameter 'nope'; declared: [img]"), undeclared);
        String cycle = error(template("\"image\": \"[variables('loop')]\""), null);
        assertTrue(cycle.contains("variables('loop') refers to itself"), cycle);
        String volume = error(template("\"image\": \"a/b:1\", \"volumeMounts\": [{\"name\": \"v\", \"mountPath\": \"/v\"}]"), null);
        assertTrue(volume.contains("properties.containers[0].properties.volumeMounts[0].name: volume 'v' is not among the group's volumes"), volume);
        String relative = error(template("\"image\": \"a/b:1\", \"command\": [1]"), null);
        assertEquals("t.json: resources[0].properties.containers[0].properties.command[0]: expected a string, found number", relative);
        String badUser = error(template("\"image\": \"a/b:1\", \"securityContext\": {\"runAsUser\": \"root\"}"), null);
        assertTrue(badUser.contains("securityContext.runAsUser: expected a non-negative integer id, found \"root\""), badUser);
    }

    @Test
    void aParametersFileNamingAnUndeclaredParameterIsRefused() {
        String e = error(TEMPLATE, "{\"parameters\": {\"tga\": {\"value\": \"2.0\"}}}");
        assertTrue(e.startsWith("t.json parameters: parameters.tga: the template declares no parameter 'tga'"), e);
        String shape = error(TEMPLATE, "{\"parameters\": {\"tag\": \"2.0\"}}");
        assertTrue(shape.contains("parameters.tag: expected {\"value\": ...}"), shape);
    }
}
