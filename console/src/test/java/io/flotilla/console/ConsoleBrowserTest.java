package io.flotilla.console;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.flotilla.testsupport.HttpCalls;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import java.io.File;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The console in a real headless Chromium against real services: a run followed live, spend that
 * equals the usage API, the kill switch, tenant isolation, and stored output that stays text.
 * Screenshots of each page go to {@code target/screenshots/}.
 */
@QuarkusTest
@QuarkusTestResource(Services.class)
class ConsoleBrowserTest {

    private static WebDriver driver;

    @TestHTTPResource("/")
    URL console;

    @BeforeAll
    static void browser() throws Exception {
        // Debian's chromium and chromium-driver, installed once per machine by the script
        Process install =
                new ProcessBuilder("bash", "../scripts/chromium.sh")
                        .redirectError(ProcessBuilder.Redirect.INHERIT)
                        .start();
        String driverPath = new String(install.getInputStream().readAllBytes()).strip();
        assertEquals(0, install.waitFor(), "scripts/chromium.sh failed");
        ChromeOptions options = new ChromeOptions();
        options.setBinary("/usr/lib/chromium/chromium");
        options.addArguments(
                "--headless=new",
                "--no-sandbox",
                "--disable-dev-shm-usage",
                "--window-size=1280,900",
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost");
        ChromeDriverService service =
                new ChromeDriverService.Builder()
                        .usingDriverExecutable(new File(driverPath))
                        .usingAnyFreePort()
                        .build();
        driver = new ChromeDriver(service, options);
    }

    @AfterAll
    static void quit() {
        if (driver != null) {
            driver.quit();
        }
    }

    private static String gateway() {
        return System.getProperty("console.it.gateway");
    }

    private static String executor() {
        return System.getProperty("console.it.executor");
    }

    private static String key(String tenant) {
        return System.getProperty("console.it.key." + tenant);
    }

    private String url(String path) {
        return console.toString().replaceAll("/$", "") + path;
    }

    private void signIn(String token) {
        driver.manage().deleteAllCookies();
        driver.get(url("/login"));
        driver.findElement(By.id("token")).sendKeys(token);
        driver.findElement(By.id("signin")).click();
        waitUp(Duration.ofSeconds(10)).until(ExpectedConditions.urlContains("/spend"));
    }

    /** A wait that looks again when htmx replaced the element under it. */
    private static WebDriverWait waitUp(Duration atMost) {
        WebDriverWait wait = new WebDriverWait(driver, atMost);
        wait.ignoring(org.openqa.selenium.StaleElementReferenceException.class);
        return wait;
    }

    private static void screenshot(String name) throws Exception {
        Path dir = Path.of("target", "screenshots");
        Files.createDirectories(dir);
        byte[] png = ((TakesScreenshot) driver).getScreenshotAs(OutputType.BYTES);
        Files.write(dir.resolve(name + ".png"), png);
    }

    /** The text of an element, read again when htmx replaced it meanwhile. */
    private static String text(String id) {
        return waitUp(Duration.ofSeconds(5)).until(d -> d.findElement(By.id(id)).getText());
    }

    /** Clicks an element, found again when htmx replaced it meanwhile. */
    private static void click(By by) {
        waitUp(Duration.ofSeconds(5))
                .until(
                        d -> {
                            d.findElement(by).click();
                            return true;
                        });
    }

    private static void publish(String namespace, String name, String spec) throws Exception {
        int status =
                HttpCalls.call(
                                "PUT",
                                executor() + "/api/v1/workflows/" + namespace + "/" + name,
                                Services.EXECUTOR_ADMIN,
                                spec)
                        .status();
        assertTrue(status == 200 || status == 201, "published: " + status);
    }

    private static String start(String workflow, String input) throws Exception {
        return HttpCalls.call(
                        "POST",
                        executor() + "/api/v1/runs",
                        Services.EXECUTOR_ADMIN,
                        "{\"workflow\":\"" + workflow + "\",\"input\":" + input + "}")
                .expect(202)
                .json()
                .get("id")
                .asText();
    }

    private static JsonNode run(String id) throws Exception {
        return HttpCalls.call(
                        "GET", executor() + "/api/v1/runs/" + id, Services.EXECUTOR_ADMIN, null)
                .expect(200)
                .json();
    }

    private static JsonNode ended(String id) throws Exception {
        await().atMost(Duration.ofSeconds(30))
                .pollInterval(Duration.ofMillis(100))
                .until(() -> !run(id).get("status").asText().equals("running"));
        return run(id);
    }

    @Test
    void theRunPageFollowsARunLiveToSucceededWithTheApisFigures() throws Exception {
        publish(
                "team-a",
                "live",
                "{\"defaults\":{\"model\":\"fast\"},\"steps\":[{\"id\":\"pause\",\"wait\":{\"duration\":\"3s\"}},"
                        + "{\"id\":\"write\",\"needs\":[\"pause\"],\"agent\":{\"prompt\":\"Write a haiku about tide pools\"}}]}");
        signIn(Services.GATEWAY_ADMIN);
        String id = start("team-a/live", "{}");
        driver.get(url("/runs/" + id));
        assertEquals("running", text("run-status"));
        ((JavascriptExecutor) driver).executeScript("window.notReloaded = true;");
        screenshot("run-running");

        waitUp(Duration.ofSeconds(30))
                .until(ExpectedConditions.textToBe(By.id("run-status"), "succeeded"));
        assertEquals(
                Boolean.TRUE,
                ((JavascriptExecutor) driver).executeScript("return window.notReloaded === true;"),
                "the page updated without a reload");
        JsonNode api = run(id);
        assertEquals(api.get("tokens").asText(), text("run-tokens"));
        assertEquals(Pages.usd(api.get("costUsd").asDouble()), text("run-cost"));
        assertTrue(driver.findElements(By.cssSelector("tr.step")).size() == 2);
        screenshot("run-succeeded");
    }

    @Test
    void theSpendPageTotalsEqualTheUsageApi() throws Exception {
        publish(
                "team-a",
                "spend",
                "{\"defaults\":{\"model\":\"fast\"},\"steps\":[{\"id\":\"a\",\"agent\":{\"prompt\":\"Name three tide pool animals\"}}]}");
        assertEquals("succeeded", ended(start("team-a/spend", "{}")).get("status").asText());
        signIn(Services.GATEWAY_ADMIN);
        driver.get(url("/spend"));
        LocalDate today = LocalDate.now(ZoneOffset.UTC);
        JsonNode usage =
                HttpCalls.call(
                                "GET",
                                gateway()
                                        + "/api/v1/usage?groupBy=tenant&from="
                                        + today.withDayOfMonth(1)
                                        + "&to="
                                        + today,
                                Services.GATEWAY_ADMIN,
                                null)
                        .expect(200)
                        .json();
        double cost = 0;
        long tokens = 0;
        for (JsonNode r : usage) {
            cost += r.get("costUsd").asDouble();
            tokens += r.get("inputTokens").asLong() + r.get("outputTokens").asLong();
        }
        assertTrue(tokens > 0, "there was spend to show");
        assertEquals(Pages.usd(cost), text("month"));
        assertEquals(String.valueOf(tokens), text("month-tokens"));
        assertTrue(driver.findElement(By.id("by-tenant")).getText().contains("team-a"));
        assertTrue(
                text("top").contains("team-a / people"),
                "top spenders by key name: " + text("top"));
        screenshot("spend");
    }

    @Test
    void pausingAScopeFromThePageRefusesTheNextRequest() throws Exception {
        String scope = "team:pause-" + UUID.randomUUID().toString().substring(0, 8);
        HttpCalls.call(
                        "PUT",
                        gateway() + "/admin/v1/scopes/" + scope,
                        Services.GATEWAY_ADMIN,
                        "{\"tenant\":\"team-b\",\"maxTokens\":100000}")
                .expect(200);
        String chat = "{\"model\":\"fast\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
        assertEquals(200, budgeted(scope, chat));

        signIn(key("team-b"));
        driver.get(url("/scopes"));
        driver.findElement(By.cssSelector("[id='scope-" + scope + "'] button.pause")).click();
        driver.switchTo().alert().accept();
        waitUp(Duration.ofSeconds(10))
                .until(d -> d.findElement(By.id("scope-" + scope)).getText().contains("paused"));
        screenshot("scopes-paused");

        HttpCalls.Answer refused =
                HttpCalls.call(
                        "POST",
                        gateway() + "/v1/chat/completions",
                        key("team-b"),
                        chat,
                        java.util.Map.of("X-Flotilla-Budget", scope));
        assertEquals(429, refused.status());
        assertEquals(
                "scope_paused", refused.json().path("error").path("code").asText(), refused.body());

        driver.findElement(By.cssSelector("[id='scope-" + scope + "'] button.resume")).click();
        driver.switchTo().alert().accept();
        waitUp(Duration.ofSeconds(10))
                .until(d -> d.findElement(By.id("scope-" + scope)).getText().contains("active"));
        assertEquals(200, budgeted(scope, chat));
    }

    private static int budgeted(String scope, String chat) throws Exception {
        return HttpCalls.call(
                        "POST",
                        gateway() + "/v1/chat/completions",
                        key("team-b"),
                        chat,
                        java.util.Map.of("X-Flotilla-Budget", scope))
                .status();
    }

    @Test
    void aTenantKeySeesNeitherAnotherTenantsRunsNorItsSpend() throws Exception {
        publish(
                "team-a",
                "private",
                "{\"defaults\":{\"model\":\"fast\"},\"steps\":[{\"id\":\"a\",\"agent\":{\"prompt\":\"A secret plan of team a\"}}]}");
        String id = start("team-a/private", "{}");
        ended(id);

        signIn(key("team-b"));
        driver.get(url("/runs"));
        assertFalse(
                driver.getPageSource().contains(id.substring(0, 8)), "team-a's run is not listed");
        driver.get(url("/runs/" + id));
        assertFalse(driver.getPageSource().contains("A secret plan"), "nor shown");
        assertTrue(driver.findElements(By.id("run-status")).isEmpty(), "the run page answers 404");
        driver.get(url("/workflows/team-a/private"));
        assertFalse(driver.getPageSource().contains("A secret plan"), "nor its workflow's spec");
        driver.get(url("/spend"));
        assertFalse(
                driver.findElement(By.id("by-tenant")).getText().contains("team-a"),
                "nor its spend");
        driver.get(url("/scopes"));
        assertFalse(
                driver.findElement(By.id("scopes")).getText().contains("team-a"), "nor its scopes");
        screenshot("tenant-b-scopes");

        signIn(key("team-a"));
        driver.get(url("/runs"));
        assertTrue(driver.getPageSource().contains(id.substring(0, 8)), "its own tenant sees it");
        driver.get(url("/workflows/team-a/private"));
        assertTrue(driver.getPageSource().contains("A secret plan"), "and its workflow's spec");
        driver.get(url("/runs?workflow=private&status=succeeded&within=1h"));
        assertTrue(
                driver.getPageSource().contains(id.substring(0, 8)),
                "filtered by workflow, status, time");
        driver.get(url("/runs?workflow=private&status=failed"));
        assertFalse(
                driver.getPageSource().contains(id.substring(0, 8)),
                "and not under another status");
        screenshot("runs");
    }

    @Test
    void anOutputHoldingAScriptRendersAsText() throws Exception {
        publish("team-a", "gate", "{\"steps\":[{\"id\":\"approve\",\"approval\":{}}]}");
        String id = start("team-a/gate", "{}");
        await().atMost(Duration.ofSeconds(20))
                .pollInterval(Duration.ofMillis(100))
                .until(() -> run(id).toString().contains("awaiting_approval"));
        String hostile =
                "<script>window.pwned = true</script><img src=x onerror=\"window.pwned = true\">";
        HttpCalls.call(
                        "POST",
                        executor() + "/api/v1/runs/" + id + "/steps/approve/approve",
                        Services.EXECUTOR_ADMIN,
                        new com.fasterxml.jackson.databind.ObjectMapper()
                                .createObjectNode()
                                .put("by", "mallory")
                                .put("comment", hostile)
                                .toString())
                .expect(202);
        ended(id);
        signIn(Services.GATEWAY_ADMIN);
        driver.get(url("/runs/" + id));
        assertTrue(text("steps").contains("<script>window.pwned = true</script>"), "shown as text");
        assertEquals(
                null,
                ((JavascriptExecutor) driver)
                        .executeScript("return window.pwned === undefined ? null : window.pwned;"));
        screenshot("run-hostile-output");
    }

    @Test
    void aStepIsApprovedAndARunCancelledFromTheirPages() throws Exception {
        publish("team-a", "decide", "{\"steps\":[{\"id\":\"approve\",\"approval\":{}}]}");
        String approved = start("team-a/decide", "{}");
        String cancelled = start("team-a/decide", "{}");
        for (String id : new String[] {approved, cancelled}) {
            await().atMost(Duration.ofSeconds(20))
                    .pollInterval(Duration.ofMillis(100))
                    .until(() -> run(id).toString().contains("awaiting_approval"));
        }
        signIn(Services.GATEWAY_ADMIN);
        driver.get(url("/runs/" + approved));
        screenshot("run-awaiting-approval");
        click(By.cssSelector("button.approve"));
        waitUp(Duration.ofSeconds(20))
                .until(ExpectedConditions.textToBe(By.id("run-status"), "succeeded"));
        assertEquals(
                "console:admin",
                run(approved).get("steps").get(0).get("output").get("by").asText(),
                "the decision names who took it");

        driver.get(url("/runs/" + cancelled));
        click(By.id("cancel"));
        driver.switchTo().alert().accept();
        waitUp(Duration.ofSeconds(20))
                .until(ExpectedConditions.textToBe(By.id("run-status"), "cancelled"));
        assertEquals("cancelled", ended(cancelled).get("status").asText());
    }

    @Test
    void everyPageRendersForTheAdmin() throws Exception {
        publish("team-a", "decide", "{\"steps\":[{\"id\":\"approve\",\"approval\":{}}]}");
        signIn(Services.GATEWAY_ADMIN);
        for (String page : new String[] {"workflows", "agents", "providers", "scopes", "runs"}) {
            driver.get(url("/" + page));
            assertTrue(driver.findElement(By.tagName("h1")).isDisplayed(), page);
            screenshot(page);
        }
        driver.get(url("/workflows/team-a/decide"));
        assertTrue(text("revisions").contains("(current)"), "the revisions are listed");
        assertTrue(text("spec").contains("\"approval\""), "and the spec is shown");
        screenshot("workflow");
    }
}
