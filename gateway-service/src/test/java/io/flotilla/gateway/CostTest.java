package io.flotilla.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.flotilla.gateway.governance.Governor;
import io.flotilla.gateway.route.Routes;
import io.flotilla.gateway.route.Target;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Prices are USD per million tokens, so micro-USD per token; cached prompt tokens use their own
 * price.
 */
class CostTest {

    private static Target target(Routes.Prices prices) {
        return new Target(
                "p",
                Target.ProviderKind.OPENAI,
                "http://x",
                null,
                "m",
                1,
                null,
                prices,
                Duration.ofSeconds(1),
                null);
    }

    @Test
    void costIsInputPlusOutputAtTheTargetsPrices() {
        assertEquals(
                1000 * 150 + 500 * 600,
                Governor.costMicros(target(new Routes.Prices(150, 600, null)), 1000, 0, 500));
        assertEquals(
                0,
                Governor.costMicros(target(null), 1000, 0, 500),
                "a target without prices costs nothing");
    }

    @Test
    void cachedPromptTokensAreChargedAtTheCachedPrice() throws Exception {
        var usage =
                new ObjectMapper()
                        .readTree(
                                "{\"prompt_tokens\":1000,\"prompt_tokens_details\":{\"cached_tokens\":800}}");
        long cached = Governor.cachedTokens(usage);
        assertEquals(800, cached);
        assertEquals(
                200 * 2 + 800 * 1 + 100 * 8,
                Governor.costMicros(target(new Routes.Prices(2, 8, 1.0)), 1000, cached, 100));
        assertEquals(
                1000 * 2 + 100 * 8,
                Governor.costMicros(target(new Routes.Prices(2, 8, null)), 1000, cached, 100),
                "without a cached price, cached tokens cost the input price");
    }
}
