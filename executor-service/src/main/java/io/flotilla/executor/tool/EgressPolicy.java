package io.flotilla.executor.tool;

import io.flotilla.executor.ExecutorConfig;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.math.BigInteger;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Locale;

/**
 * Where HTTP tools may connect. A host must be allowed by the executor ({@code
 * flotilla.executor.tools.allowed-hosts}) and, for a redirect, by the tool; then every address it
 * resolves to must be public, or in {@code allowed-addresses}. Loopback, private, link-local,
 * unique-local, carrier-grade NAT, metadata, multicast and unspecified addresses are refused, also
 * inside IPv4-mapped and NAT64 IPv6 addresses. The caller connects to the address this policy
 * answered, so a second resolution cannot swap it.
 */
@Singleton
public class EgressPolicy {

    /** A refused destination: the message names it and the setting that would allow it. */
    public static final class Refused extends Exception {
        Refused(String message) {
            super(message, null, false, false);
        }
    }

    /** Resolves a host name to its addresses (the system resolver, outside tests). */
    public interface Resolver {
        InetAddress[] resolve(String host) throws UnknownHostException;
    }

    private static final List<Range> NOT_PUBLIC =
            List.of(
                    Range.of("0.0.0.0/8", "an unspecified or 'this network' address"),
                    Range.of("10.0.0.0/8", "a private address"),
                    Range.of("100.64.0.0/10", "a carrier-grade NAT address"),
                    Range.of("127.0.0.0/8", "a loopback address"),
                    Range.of("169.254.169.254/32", "a cloud metadata address"),
                    Range.of("169.254.0.0/16", "a link-local address"),
                    Range.of("172.16.0.0/12", "a private address"),
                    Range.of("192.0.0.0/24", "an IETF protocol address"),
                    Range.of("192.168.0.0/16", "a private address"),
                    Range.of("198.18.0.0/15", "a benchmarking address"),
                    Range.of("224.0.0.0/4", "a multicast address"),
                    Range.of("240.0.0.0/4", "a reserved address"),
                    Range.of("::/128", "the unspecified address"),
                    Range.of("::1/128", "a loopback address"),
                    Range.of("fd00:ec2::254/128", "a cloud metadata address"),
                    Range.of("fc00::/7", "a unique-local (private) address"),
                    Range.of("fe80::/10", "a link-local address"),
                    Range.of("ff00::/8", "a multicast address"));

    private final List<String> hosts;
    private final List<Range> allowedAddresses;
    private final Resolver resolver;

    @Inject
    EgressPolicy(ExecutorConfig config) {
        this(
                config.tools().allowedHosts().orElse(List.of()),
                config.tools().allowedAddresses().orElse(List.of()),
                InetAddress::getAllByName);
    }

    /** A policy of these hosts and address ranges, resolving with {@code resolver}. */
    public EgressPolicy(List<String> hosts, List<String> allowedAddresses, Resolver resolver) {
        this.hosts = hosts.stream().map(h -> h.trim().toLowerCase(Locale.ROOT)).toList();
        this.allowedAddresses =
                allowedAddresses.stream().map(c -> Range.of(c.trim(), "allowed")).toList();
        this.resolver = resolver;
    }

    /**
     * The address to connect to for {@code host}: allowed by the executor (and by {@code toolHosts}
     * unless it is the tool's own host), every address it resolves to allowed.
     */
    public InetAddress resolve(String host, boolean toolsOwnHost, List<String> toolHosts)
            throws Refused {
        String name = host.toLowerCase(Locale.ROOT);
        if (name.startsWith("[") && name.endsWith("]")) {
            name = name.substring(1, name.length() - 1);
        }
        if (!allowedHost(name)) {
            throw new Refused(
                    "the host '"
                            + name
                            + "' is not in the executor's egress allow-list"
                            + " (flotilla.executor.tools.allowed-hosts: "
                            + (hosts.isEmpty() ? "empty" : String.join(", ", hosts))
                            + ")");
        }
        if (!toolsOwnHost && !toolHosts.contains(name)) {
            throw new Refused(
                    "a redirect to '"
                            + name
                            + "' is not followed: the tool's allowedHosts do not list it");
        }
        InetAddress[] addresses;
        try {
            addresses = resolver.resolve(name);
        } catch (UnknownHostException e) {
            throw new Refused("the host '" + name + "' does not resolve");
        }
        for (InetAddress a : addresses) {
            String why = refusal(a);
            if (why != null) {
                throw new Refused(
                        "the host '"
                                + name
                                + "' resolves to "
                                + a.getHostAddress()
                                + ", "
                                + why
                                + "; tools reach public addresses only, unless"
                                + " flotilla.executor.tools.allowed-addresses lists the range");
            }
        }
        return addresses[0];
    }

    /** Why an address is refused, or null when tools may connect to it. */
    public String refusal(InetAddress address) {
        InetAddress a = embedded(address);
        for (Range r : allowedAddresses) {
            if (r.contains(a) || r.contains(address)) {
                return null;
            }
        }
        for (Range r : NOT_PUBLIC) {
            if (r.contains(a) || r.contains(address)) {
                return r.what;
            }
        }
        return null;
    }

    private boolean allowedHost(String name) {
        for (String h : hosts) {
            if (h.startsWith(".") ? name.endsWith(h) : name.equals(h)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The IPv4 address inside an IPv4-mapped ({@code ::ffff:a.b.c.d}), IPv4-compatible ({@code
     * ::a.b.c.d}) or NAT64 ({@code 64:ff9b::a.b.c.d}) IPv6 address; else the address itself.
     */
    private static InetAddress embedded(InetAddress address) {
        if (!(address instanceof Inet6Address)) {
            return address;
        }
        byte[] b = address.getAddress();
        boolean zeros = true;
        for (int i = 0; i < 10; i++) {
            zeros &= b[i] == 0;
        }
        boolean mapped = zeros && b[10] == (byte) 0xff && b[11] == (byte) 0xff;
        boolean compatible = zeros && b[10] == 0 && b[11] == 0 && (b[12] | b[13] | b[14]) != 0;
        boolean nat64 = b[0] == 0 && b[1] == 0x64 && b[2] == (byte) 0xff && b[3] == (byte) 0x9b;
        for (int i = 4; nat64 && i < 12; i++) {
            nat64 = b[i] == 0;
        }
        if (!mapped && !compatible && !nat64) {
            return address;
        }
        try {
            return InetAddress.getByAddress(new byte[] {b[12], b[13], b[14], b[15]});
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    /** An address range in CIDR notation. */
    private record Range(BigInteger network, int bits, int length, String what) {

        static Range of(String cidr, String what) {
            int slash = cidr.indexOf('/');
            try {
                InetAddress a = InetAddress.getByName(slash < 0 ? cidr : cidr.substring(0, slash));
                int length = a instanceof Inet4Address ? 32 : 128;
                int bits = slash < 0 ? length : Integer.parseInt(cidr.substring(slash + 1));
                if (bits < 0 || bits > length || !isLiteral(cidr, slash)) {
                    throw new IllegalArgumentException();
                }
                return new Range(prefix(a, bits, length), bits, length, what);
            } catch (UnknownHostException | IllegalArgumentException e) {
                throw new IllegalArgumentException(
                        "flotilla.executor.tools.allowed-addresses: '"
                                + cidr
                                + "' is not an address range like 10.96.0.0/12 or fd00::/8");
            }
        }

        private static boolean isLiteral(String cidr, int slash) {
            String address = slash < 0 ? cidr : cidr.substring(0, slash);
            return address.contains(":") || address.matches("[0-9.]+");
        }

        boolean contains(InetAddress a) {
            int l = a instanceof Inet4Address ? 32 : 128;
            return l == length && prefix(a, bits, length).equals(network);
        }

        private static BigInteger prefix(InetAddress a, int bits, int length) {
            return new BigInteger(1, a.getAddress()).shiftRight(length - bits);
        }
    }
}
