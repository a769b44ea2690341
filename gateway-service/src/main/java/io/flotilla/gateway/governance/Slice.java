package io.flotilla.gateway.governance;

import java.util.List;
import java.util.UUID;

/**
 * A share of a scope chain's headroom leased from Postgres (one reservation row): requests are
 * admitted against it in memory and settled into it; it is returned (released and charged) in
 * parts, one call after the other, when it closes and as the requests it admitted after that
 * settle. Every token of the lease is released exactly once: what was never admitted and what
 * settled requests held at close, then each later request's own reservation.
 */
public final class Slice {

    final UUID id;
    final List<String> scopes;
    private final long tokens;
    private final long cost;
    private final int requests;
    private final double inPrice;
    private final double outPrice;
    private final long closesAt;
    private final Integer limitRequests;
    private final Integer remainingRequests;
    private final Integer limitTokens;
    private final Integer remainingTokens;

    private long takenTokens;
    private long takenCost;
    private int takenRequests;
    private int inFlight;
    private long settledTokens;
    private long settledCost;
    private long usedTokens;
    private long usedCost;
    private boolean closed;

    /** What is due to Postgres and not yet sent, and whether a release call is in flight. */
    private final Release due = new Release();

    private boolean releasing;

    Slice(
            UUID id,
            List<String> scopes,
            long tokens,
            long cost,
            int requests,
            double inPrice,
            double outPrice,
            long closesAt,
            Integer limitRequests,
            Integer remainingRequests,
            Integer limitTokens,
            Integer remainingTokens) {
        this.id = id;
        this.scopes = scopes;
        this.tokens = tokens;
        this.cost = cost;
        this.requests = requests;
        this.inPrice = inPrice;
        this.outPrice = outPrice;
        this.closesAt = closesAt;
        this.limitRequests = limitRequests;
        this.remainingRequests = remainingRequests;
        this.limitTokens = limitTokens;
        this.remainingTokens = remainingTokens;
    }

    /** The reservation of one request, in micro-USD, at the slice's prices. */
    long cost(int prompt, int completion) {
        return (long) Math.ceil(prompt * inPrice + completion * outPrice);
    }

    /** Admits a request of prompt + completion tokens, or returns null when it does not fit. */
    synchronized Grant take(int prompt, int completion, long now) {
        long need = (long) prompt + completion;
        long needCost = cost(prompt, completion);
        if (closed
                || now >= closesAt
                || takenTokens + need > tokens
                || takenCost + needCost > cost
                || takenRequests + 1 > requests) {
            return null;
        }
        takenTokens += need;
        takenCost += needCost;
        takenRequests++;
        inFlight++;
        return new Grant(
                null,
                prompt,
                completion,
                false,
                true,
                limitRequests,
                remainingRequests == null
                        ? null
                        : (int) Math.max(0, (long) remainingRequests - takenRequests),
                limitTokens,
                remainingTokens == null ? null : (int) Math.max(0, remainingTokens - takenTokens),
                this);
    }

    synchronized boolean expired(long now) {
        return now >= closesAt;
    }

    synchronized boolean closed() {
        return closed;
    }

    /** Whether it has been closed, nothing it admitted is in flight and nothing is left to send. */
    synchronized boolean done() {
        return closed && inFlight == 0 && !releasing && due.empty();
    }

    /**
     * Closes the slice to new requests; returns what is now due (what it never admitted, and what
     * the requests that already settled held and used), or null when nothing is.
     */
    synchronized Release close() {
        if (closed) {
            return null;
        }
        closed = true;
        due.add(
                tokens - takenTokens + settledTokens,
                cost - takenCost + settledCost,
                usedTokens,
                usedCost,
                requests - takenRequests);
        return next();
    }

    /** Settles one admitted request; returns what is due when the slice is already closed. */
    synchronized Release settle(Grant grant, long used, long usedMicros) {
        long held = (long) grant.promptTokens() + grant.completionTokens();
        long heldCost = cost(grant.promptTokens(), grant.completionTokens());
        inFlight--;
        if (!closed) {
            settledTokens += held;
            settledCost += heldCost;
            usedTokens += used;
            usedCost += usedMicros;
            return null;
        }
        due.add(held, heldCost, used, usedMicros, 0);
        return next();
    }

    /** After a release call: what became due meanwhile, or null. */
    synchronized Release sent() {
        releasing = false;
        return next();
    }

    /** Tokens admitted so far: the demand the next slice of the chain is sized from. */
    synchronized long takenTokens() {
        return takenTokens;
    }

    synchronized int takenRequests() {
        return takenRequests;
    }

    private Release next() {
        if (releasing || due.empty()) {
            return null;
        }
        releasing = true;
        Release out = due.copy();
        due.clear();
        return out;
    }

    /** A part of a slice to give back: released reservation, real usage, requests not admitted. */
    static final class Release {
        long tokens;
        long cost;
        long usedTokens;
        long usedCost;
        int requests;

        void add(long tokens, long cost, long usedTokens, long usedCost, int requests) {
            this.tokens += tokens;
            this.cost += cost;
            this.usedTokens += usedTokens;
            this.usedCost += usedCost;
            this.requests += requests;
        }

        boolean empty() {
            return tokens == 0 && cost == 0 && usedTokens == 0 && usedCost == 0 && requests == 0;
        }

        Release copy() {
            Release r = new Release();
            r.add(tokens, cost, usedTokens, usedCost, requests);
            return r;
        }

        void clear() {
            tokens = 0;
            cost = 0;
            usedTokens = 0;
            usedCost = 0;
            requests = 0;
        }
    }
}
