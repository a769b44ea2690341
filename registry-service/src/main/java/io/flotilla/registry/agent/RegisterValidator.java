package io.flotilla.registry.agent;

import io.flotilla.common.problem.Problem.FieldError;
import io.flotilla.common.problem.ProblemException;
import io.flotilla.registry.config.RegistryConfig;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Pattern;

/** Checks a registration and reports every problem at once, each with what would be accepted. */
@ApplicationScoped
public class RegisterValidator {

    static final int MAX_CAPABILITIES = 32;
    static final int MAX_METADATA = 32;
    private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
    private static final Pattern DNS_SUBDOMAIN = Pattern.compile("[a-z0-9]([-a-z0-9.]*[a-z0-9])?");
    private static final Pattern WORKFLOW = Pattern.compile("[a-z0-9]([-a-z0-9./]*[a-z0-9])?");
    private static final Pattern META_KEY =
            Pattern.compile("[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?");

    private final RegistryConfig config;

    RegisterValidator(RegistryConfig config) {
        this.config = config;
    }

    /** Returns the TTL to use; throws a 400 listing every invalid field. */
    public int validate(RegisterRequest r) {
        if (r == null) {
            throw ProblemException.invalid(
                    List.of(
                            new FieldError(
                                    "body",
                                    "a JSON object is required: {\"name\", \"kind\", \"namespace\", \"podName\"}")));
        }
        List<FieldError> errors = new ArrayList<>();
        dnsName(errors, "name", r.name(), DNS_SUBDOMAIN, 253, true);
        kind(errors, r.kind());
        dnsName(errors, "namespace", r.namespace(), DNS_LABEL, 63, true);
        dnsName(errors, "podName", r.podName(), DNS_SUBDOMAIN, 253, true);
        dnsName(errors, "workflow", r.workflow(), WORKFLOW, 253, false);
        int ttl = r.ttlSeconds() == null ? config.ttl().defaultSeconds() : r.ttlSeconds();
        if (ttl < config.ttl().minSeconds() || ttl > config.ttl().maxSeconds()) {
            errors.add(
                    new FieldError(
                            "ttlSeconds",
                            "must be between "
                                    + config.ttl().minSeconds()
                                    + " and "
                                    + config.ttl().maxSeconds()
                                    + " seconds, was "
                                    + ttl));
        }
        capabilities(errors, r.capabilities());
        metadata(errors, r.metadata());
        if (!errors.isEmpty()) {
            throw ProblemException.invalid(errors);
        }
        return ttl;
    }

    private static void dnsName(
            List<FieldError> errors,
            String field,
            String value,
            Pattern pattern,
            int max,
            boolean required) {
        if (value == null || value.isEmpty()) {
            if (required) {
                errors.add(new FieldError(field, "is required"));
            }
            return;
        }
        if (value.length() > max) {
            errors.add(
                    new FieldError(
                            field,
                            "must be at most " + max + " characters, was " + value.length()));
        } else if (!pattern.matcher(value).matches()) {
            errors.add(
                    new FieldError(
                            field,
                            "'"
                                    + printable(value)
                                    + "' is not valid: use lower-case letters, digits"
                                    + (pattern == DNS_LABEL
                                            ? " and '-'"
                                            : pattern == WORKFLOW
                                                    ? ", '-', '.' and '/'"
                                                    : ", '-' and '.'")
                                    + ", starting and ending with a letter or digit (Kubernetes naming)"));
        }
    }

    private void kind(List<FieldError> errors, String kind) {
        if (kind == null || kind.isEmpty()) {
            errors.add(
                    new FieldError(
                            "kind",
                            "is required; use one of: "
                                    + String.join(", ", new TreeSet<>(config.kinds()))));
        } else if (!config.kinds().contains(kind)) {
            errors.add(
                    new FieldError(
                            "kind",
                            "'"
                                    + printable(kind)
                                    + "' is not a known kind; use one of: "
                                    + String.join(", ", new TreeSet<>(config.kinds()))));
        }
    }

    private static void capabilities(List<FieldError> errors, List<String> capabilities) {
        if (capabilities == null) {
            return;
        }
        if (capabilities.size() > MAX_CAPABILITIES) {
            errors.add(
                    new FieldError(
                            "capabilities",
                            "at most "
                                    + MAX_CAPABILITIES
                                    + " entries, was "
                                    + capabilities.size()));
            return;
        }
        for (int i = 0; i < capabilities.size(); i++) {
            String c = capabilities.get(i);
            if (c == null || c.isBlank() || c.length() > 128 || hasControl(c)) {
                errors.add(
                        new FieldError(
                                "capabilities[" + i + "]",
                                "must be 1 to 128 printable characters"));
            }
        }
    }

    private static void metadata(List<FieldError> errors, Map<String, String> metadata) {
        if (metadata == null) {
            return;
        }
        if (metadata.size() > MAX_METADATA) {
            errors.add(
                    new FieldError(
                            "metadata",
                            "at most " + MAX_METADATA + " entries, was " + metadata.size()));
            return;
        }
        metadata.forEach(
                (k, v) -> {
                    if (k.length() > 63 || !META_KEY.matcher(k).matches()) {
                        errors.add(
                                new FieldError(
                                        "metadata",
                                        "key '"
                                                + printable(k)
                                                + "' is not valid: 1 to 63 letters, digits, '-', '_', '.' or '/', starting and ending with a letter or digit"));
                    } else if (v == null || v.length() > 256 || hasControl(v)) {
                        errors.add(
                                new FieldError(
                                        "metadata." + k,
                                        "must be a string of at most 256 printable characters"));
                    }
                });
    }

    private static boolean hasControl(String s) {
        return s.chars().anyMatch(Character::isISOControl);
    }

    private static String printable(String s) {
        String clipped = s.length() > 40 ? s.substring(0, 40) + "..." : s;
        return clipped.replaceAll("\\p{Cntrl}", "?");
    }
}
