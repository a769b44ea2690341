package io.flotilla.operator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.testsupport.KubeApiServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Helm chart against a real Kubernetes API server (1.20.2): it lints clean, renders by the
 * server's capabilities, passes the server's own validation, installs, upgrades without restarting
 * anything, and uninstalls without leaving anything but its CRDs. There is no kubelet: pods are
 * never started here (scripts/images.sh runs the images).
 */
class HelmChartIT {

    static final String CHART = "../helm/flotilla";
    static KubeApiServer api;
    static String kubeconfig;

    @BeforeAll
    static void start() throws Exception {
        api = KubeApiServer.shared();
        kubeconfig = api.kubeconfig("helm", api.adminToken(), "default").toString();
    }

    static String helm(String... args) throws Exception {
        String[] all = new String[args.length + 1];
        all[0] = "--kubeconfig=" + kubeconfig;
        System.arraycopy(args, 0, all, 1, args.length);
        return Helm.run(all);
    }

    @Test
    void theChartLintsClean() throws Exception {
        String out = helm("lint", "--strict", CHART, "--set", "postgres.enabled=true");
        assertTrue(out.contains("0 chart(s) failed"), out);
        assertFalse(out.contains("[WARNING]") || out.contains("[ERROR]"), out);
    }

    @Test
    void aWrongValueFailsNamingIt() throws Exception {
        // a misspelt key, a ratio out of range: the error names the value
        for (String wrong : List.of("executor.replicaz=3", "tracing.samplingRatio=1.5")) {
            KubeApiServer.CommandFailed e =
                    assertThrows(
                            KubeApiServer.CommandFailed.class,
                            () ->
                                    helm(
                                            "template",
                                            "x",
                                            CHART,
                                            "--set",
                                            "postgres.enabled=true",
                                            "--set",
                                            wrong));
            String path = wrong.substring(0, wrong.indexOf('='));
            String key = path.substring(path.lastIndexOf('.') + 1);
            assertTrue(e.output.contains(key), e.output);
        }
        KubeApiServer.CommandFailed noDatabase =
                assertThrows(KubeApiServer.CommandFailed.class, () -> helm("template", "x", CHART));
        assertTrue(noDatabase.output.contains("database.url is required"), noDatabase.output);
    }

    @Test
    void theRenderingPassesTheServersValidationByItsCapabilities() throws Exception {
        api.kubectl("create", "namespace", "helm-dry");
        String rendered =
                helm(
                        "template",
                        "dry",
                        CHART,
                        "--namespace",
                        "helm-dry",
                        "--validate",
                        "--set",
                        "postgres.enabled=true",
                        "--set",
                        "executor.tools.allowedHosts={api.example.com,.internal.example.com}",
                        "--set",
                        "executor.tools.secretNamespaces={helm-dry}",
                        "--set",
                        "tracing.endpoint=http://otel-collector.observability:4318",
                        "--set",
                        "tracing.samplingRatio=0.25");
        // 1.20 has neither policy/v1 nor autoscaling/v2: the chart falls back by capability
        assertTrue(rendered.contains("apiVersion: policy/v1beta1"), "PDBs as policy/v1beta1");
        assertTrue(rendered.contains("apiVersion: autoscaling/v2beta2"), "HPA as v2beta2");
        assertFalse(rendered.contains("kind: ServiceMonitor"), "no Prometheus Operator here");
        assertFalse(rendered.contains("kind: ScaledObject"), "no KEDA here");
        assertTrue(
                rendered.contains(
                        "name: FLOTILLA_EXECUTOR_TOOLS_ALLOWED_HOSTS\n              value:"
                                + " \"api.example.com,.internal.example.com\""),
                "the tools' egress allow-list reaches the executor");
        assertTrue(
                rendered.contains(
                                "name: QUARKUS_OTEL_EXPORTER_OTLP_TRACES_ENDPOINT\n              value:"
                                        + " \"http://otel-collector.observability:4318\"")
                        && rendered.contains(
                                "name: QUARKUS_OTEL_TRACES_SAMPLER_ARG\n              value: \"0.25\""),
                "tracing's endpoint and ratio reach the services");
        Path file = Files.createTempFile("rendered", ".yaml");
        Files.writeString(file, rendered);
        api.kubectl("apply", "-f", "../k8s/crds/");
        String out =
                api.kubectl("apply", "--dry-run=server", "-n", "helm-dry", "-f", file.toString());
        for (String kind :
                List.of(
                        "deployment.apps/dry-gateway",
                        "deployment.apps/dry-console",
                        "service/dry-console",
                        "statefulset.apps/dry-postgres",
                        "networkpolicy.networking.k8s.io/dry-executor",
                        "poddisruptionbudget.policy/dry-registry",
                        "horizontalpodautoscaler.autoscaling/dry-executor",
                        "clusterrole.rbac.authorization.k8s.io/dry-operator",
                        "role.rbac.authorization.k8s.io/dry-executor-tool-secrets",
                        "rolebinding.rbac.authorization.k8s.io/dry-executor-tool-secrets")) {
            assertTrue(out.contains(kind + " created (server dry run)"), kind + " in\n" + out);
        }
    }

    @Test
    void installUpgradeAndUninstall() throws Exception {
        api.kubectl("create", "namespace", "helm-real");
        helm("install", "real", CHART, "-n", "helm-real", "--set", "postgres.enabled=true");
        assertEquals(
                "real-console real-executor real-gateway real-operator real-registry",
                api.kubectl(
                                "get",
                                "deployments",
                                "-n",
                                "helm-real",
                                "-o",
                                "jsonpath={.items[*].metadata.name}")
                        .strip());
        String tokens = secret("real-admin-tokens");
        String generations = generations();

        helm("upgrade", "real", CHART, "-n", "helm-real", "--set", "postgres.enabled=true");
        assertEquals(tokens, secret("real-admin-tokens"), "admin tokens kept across upgrades");
        assertEquals(generations, generations(), "an upgrade without changes restarts nothing");

        helm(
                "upgrade",
                "real",
                CHART,
                "-n",
                "helm-real",
                "--set",
                "postgres.enabled=true",
                "--set",
                "gateway.routes.routes.fast.targets[0].model=mock-faster",
                "--set",
                "gateway.routes.routes.fast.targets[0].provider=mock",
                "--set",
                "gateway.routes.providers.mock.type=mock");
        assertFalse(generations.equals(generations()), "a routes change rolls the gateway");

        helm("uninstall", "real", "-n", "helm-real", "--wait");
        String left =
                api.kubectl(
                        "get",
                        "all,secrets,configmaps,serviceaccounts,roles,rolebindings,networkpolicies,"
                                + "poddisruptionbudgets,horizontalpodautoscalers",
                        "-n",
                        "helm-real",
                        "-l",
                        "app.kubernetes.io/instance=real",
                        "-o",
                        "name");
        assertEquals("", left.strip(), "nothing of the release is left");
        assertEquals(
                "",
                api.kubectl(
                                "get",
                                "clusterroles,clusterrolebindings",
                                "-l",
                                "app.kubernetes.io/instance=real",
                                "-o",
                                "name")
                        .strip());
        assertTrue(
                api.kubectl("get", "crd", "-o", "name").contains("workflows.flotilla.io"),
                "CRDs are kept, as Helm does");
    }

    static String secret(String name) throws Exception {
        return api.kubectl("get", "secret", name, "-n", "helm-real", "-o", "jsonpath={.data}");
    }

    /** Each Deployment's generation: it moves only when its spec (pod template) changes. */
    static String generations() throws Exception {
        return api.kubectl(
                "get",
                "deployments",
                "-n",
                "helm-real",
                "-o",
                "jsonpath={range .items[*]}{.metadata.name}={.metadata.generation} {end}");
    }
}
