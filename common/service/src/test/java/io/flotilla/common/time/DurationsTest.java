package io.flotilla.common.time;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class DurationsTest {

    @Test
    void everyUnitReadsAsWritten() {
        assertEquals(Duration.ofMillis(500), Durations.parse("500ms"));
        assertEquals(Duration.ofSeconds(30), Durations.parse("30s"));
        assertEquals(Duration.ofMinutes(5), Durations.parse(" 5m "));
        assertEquals(Duration.ofHours(24), Durations.parse("24h"));
        assertNull(Durations.parse(null));
        assertNull(Durations.parse(" "));
    }

    @Test
    void anythingElseIsRefusedSayingHowToWriteIt() {
        for (String bad :
                new String[] {
                    "30",
                    "-5s",
                    "1.5s",
                    "5 s",
                    "3d",
                    "s",
                    "99999999999999999999s",
                    "9999999999999999h"
                }) {
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> Durations.parse(bad), bad);
            assertTrue(e.getMessage().contains("write it like 500ms, 30s, 5m or 24h"), bad);
        }
    }
}
