package io.flotilla.executor.tool;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flotilla.common.auth.KubernetesAuthConfig;
import io.flotilla.common.auth.TokenReviews;
import io.flotilla.common.workflow.WorkflowSpec;
import io.flotilla.executor.step.FailureKind;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Base64;
import java.util.function.UnaryOperator;

/**
 * The value of a tool's secret header, read when the tool is called and kept nowhere: an
 * environment variable of the executor named {@code FLOTILLA_TOOL_*} (so a workflow cannot name the
 * executor's own credentials), or a key of a Secret in the run's namespace that is labelled {@code
 * flotilla.io/tool-secret=true} (so a workflow cannot read any other Secret), read through the
 * Kubernetes API with the pod's ServiceAccount token. The value never enters a message.
 */
@Singleton
public class ToolSecrets {

    static final String LABEL = "flotilla.io/tool-secret";

    private final KubernetesAuthConfig kubernetes;
    private final ObjectMapper json;
    private final UnaryOperator<String> environment;
    private volatile HttpClient http;

    @Inject
    ToolSecrets(KubernetesAuthConfig kubernetes, ObjectMapper json) {
        this(kubernetes, json, System::getenv);
    }

    /** Secrets from this API server and this environment. */
    public ToolSecrets(
            KubernetesAuthConfig kubernetes, ObjectMapper json, UnaryOperator<String> environment) {
        this.kubernetes = kubernetes;
        this.json = json;
        this.environment = environment;
    }

    /** The header value: the prefix and the secret. */
    String value(WorkflowSpec.SecretHeader secret, String namespace) {
        String value;
        if (secret.env() != null) {
            if (!secret.env().startsWith("FLOTILLA_TOOL_")) {
                throw new ToolHttp.ToolFailed(
                        FailureKind.FATAL,
                        "the secret env " + secret.env() + " is not named FLOTILLA_TOOL_*");
            }
            value = environment.apply(secret.env());
            if (value == null) {
                throw new ToolHttp.ToolFailed(
                        FailureKind.FATAL,
                        "the executor has no environment variable "
                                + secret.env()
                                + " (set it in the executor's Deployment)");
            }
        } else {
            value = fromKubernetes(secret.secretKeyRef(), namespace);
        }
        return (secret.prefix() == null ? "" : secret.prefix()) + value;
    }

    private String fromKubernetes(WorkflowSpec.SecretKeyRef ref, String namespace) {
        String name = namespace + "/" + ref.name();
        HttpResponse<String> response;
        try {
            HttpRequest request =
                    HttpRequest.newBuilder(
                                    URI.create(
                                            kubernetes.url().replaceAll("/+$", "")
                                                    + "/api/v1/namespaces/"
                                                    + URLEncoder.encode(
                                                            namespace, StandardCharsets.UTF_8)
                                                    + "/secrets/"
                                                    + URLEncoder.encode(
                                                            ref.name(), StandardCharsets.UTF_8)))
                            .timeout(Duration.ofSeconds(5))
                            .header(
                                    "Authorization",
                                    "Bearer " + Files.readString(kubernetes.tokenFile()).trim())
                            .GET()
                            .build();
            response = client().send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new ToolHttp.ToolFailed(
                    FailureKind.RETRYABLE,
                    "the Secret " + name + " could not be read: the Kubernetes API did not answer");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ToolHttp.ToolFailed(FailureKind.RETRYABLE, "interrupted");
        }
        int status = response.statusCode();
        if (status == 404 || status == 403) {
            throw new ToolHttp.ToolFailed(
                    FailureKind.FATAL,
                    "the Secret "
                            + name
                            + (status == 404
                                    ? " does not exist"
                                    : " may not be read by the executor (its Role grants get on"
                                            + " secrets)"));
        }
        if (status != 200) {
            throw new ToolHttp.ToolFailed(
                    FailureKind.RETRYABLE,
                    "the Secret "
                            + name
                            + " could not be read: the Kubernetes API answered "
                            + status);
        }
        JsonNode secret;
        try {
            secret = json.readTree(response.body());
        } catch (IOException e) {
            throw new ToolHttp.ToolFailed(
                    FailureKind.RETRYABLE, "the Kubernetes API answered no Secret for " + name);
        }
        if (!"true".equals(secret.path("metadata").path("labels").path(LABEL).asText())) {
            throw new ToolHttp.ToolFailed(
                    FailureKind.FATAL,
                    "the Secret "
                            + name
                            + " is not labelled "
                            + LABEL
                            + "=true; tools read only Secrets labelled for them");
        }
        JsonNode data = secret.path("data").path(ref.key());
        if (!data.isTextual()) {
            throw new ToolHttp.ToolFailed(
                    FailureKind.FATAL, "the Secret " + name + " has no key '" + ref.key() + "'");
        }
        return new String(Base64.getDecoder().decode(data.asText()), StandardCharsets.UTF_8);
    }

    private HttpClient client() {
        if (http == null) {
            http =
                    HttpClient.newBuilder()
                            .connectTimeout(Duration.ofSeconds(5))
                            .sslContext(TokenReviews.trusting(kubernetes.caFile()))
                            .build();
        }
        return http;
    }
}
