package io.flotilla.executor.tool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The egress policy on resolved addresses, without any connection: names are resolved by a table
 * here, the way a hostile DNS would answer them.
 */
class EgressPolicyTest {

    private static final Map<String, String> DNS =
            Map.of(
                    "api.example.com", "93.184.216.34",
                    "loopback.example.com", "127.0.0.1",
                    "v6loop.example.com", "::1",
                    "metadata.example.com", "169.254.169.254",
                    "private.example.com", "10.0.0.1",
                    "mapped.example.com", "::ffff:127.0.0.1",
                    "nat64.example.com", "64:ff9b::a9fe:a9fe",
                    "cluster.example.com", "10.96.0.10");

    private static EgressPolicy policy(List<String> hosts, List<String> addresses) {
        return new EgressPolicy(
                hosts,
                addresses,
                host -> {
                    String a = DNS.get(host);
                    if (a == null && !host.matches("[0-9a-f.:]+")) {
                        throw new UnknownHostException(host);
                    }
                    return new InetAddress[] {InetAddress.getByName(a == null ? host : a)};
                });
    }

    private static String refused(EgressPolicy p, String host) {
        return assertThrows(EgressPolicy.Refused.class, () -> p.resolve(host, true, List.of()))
                .getMessage();
    }

    @Test
    void namesAndLiteralsOfLoopbackMetadataAndPrivateAddressesAreRefused() throws Exception {
        EgressPolicy p =
                policy(
                        List.of(".example.com", "127.0.0.1", "::1", "169.254.169.254", "10.0.0.1"),
                        List.of());
        assertEquals(
                "the host 'loopback.example.com' resolves to 127.0.0.1, a loopback address; tools"
                        + " reach public addresses only, unless"
                        + " flotilla.executor.tools.allowed-addresses lists the range",
                refused(p, "loopback.example.com"));
        assertTrue(refused(p, "127.0.0.1").contains("127.0.0.1, a loopback address"));
        assertTrue(refused(p, "[::1]").contains("0:0:0:0:0:0:0:1, a loopback address"));
        assertTrue(refused(p, "v6loop.example.com").contains("a loopback address"));
        assertTrue(refused(p, "169.254.169.254").contains("a cloud metadata address"));
        assertTrue(refused(p, "metadata.example.com").contains("a cloud metadata address"));
        assertTrue(refused(p, "10.0.0.1").contains("10.0.0.1, a private address"));
        assertTrue(refused(p, "private.example.com").contains("a private address"));
        assertTrue(
                refused(p, "mapped.example.com").contains("a loopback address"),
                "an IPv4-mapped IPv6 address is checked as the IPv4 address inside it");
        assertTrue(refused(p, "nat64.example.com").contains("a cloud metadata address"));
        assertEquals(
                "93.184.216.34", p.resolve("api.example.com", true, List.of()).getHostAddress());
    }

    @Test
    void aHostMustBeAllowedAndARedirectMustBeTheTools() throws Exception {
        EgressPolicy p = policy(List.of("api.example.com", ".internal.example.com"), List.of());
        assertEquals(
                "the host 'evil.example.org' is not in the executor's egress allow-list"
                        + " (flotilla.executor.tools.allowed-hosts: api.example.com,"
                        + " .internal.example.com)",
                refused(p, "evil.example.org"));
        assertTrue(refused(p, "internal.example.com").contains("is not in the executor's egress"));
        assertTrue(
                refused(p, "x.internal.example.com").contains("does not resolve"),
                "a suffix allows subdomains");
        assertEquals(
                "a redirect to 'api.example.com' is not followed: the tool's allowedHosts do not"
                        + " list it",
                assertThrows(
                                EgressPolicy.Refused.class,
                                () ->
                                        p.resolve(
                                                "api.example.com",
                                                false,
                                                List.of("other.example.com")))
                        .getMessage());
        assertEquals(
                "93.184.216.34",
                p.resolve("API.example.com", false, List.of("api.example.com")).getHostAddress());
        assertTrue(
                refused(policy(List.of(), List.of()), "api.example.com")
                        .endsWith("(flotilla.executor.tools.allowed-hosts: empty)"),
                "nothing is allowed until the platform allows it");
    }

    @Test
    void allowedAddressRangesAreReachableAndNothingElseIs() throws Exception {
        EgressPolicy p = policy(List.of(".example.com"), List.of("10.96.0.0/12", "127.0.0.1/32"));
        assertEquals(
                "10.96.0.10", p.resolve("cluster.example.com", true, List.of()).getHostAddress());
        assertEquals(
                "127.0.0.1", p.resolve("loopback.example.com", true, List.of()).getHostAddress());
        assertTrue(refused(p, "private.example.com").contains("a private address"));
        assertTrue(refused(p, "metadata.example.com").contains("a cloud metadata address"));
        assertNull(p.refusal(InetAddress.getByName("10.111.255.255")));
        assertEquals("a private address", p.refusal(InetAddress.getByName("10.112.0.0")));
        assertThrows(
                IllegalArgumentException.class,
                () -> policy(List.of(), List.of("example.com/8")),
                "a range is an address, not a name to resolve");
    }
}
