// CheckStatus: /usg/check-status of the Tomcat test gateway, as the ICG 2.04 and later answer it:
// HTTP 200 with {"status":"init|ok|warn|err"}.
//
// The verdict is settable by a test: CATALINA_BASE/check-status holds it (init, ok, warn, err, or 404 for an
// ICG without the endpoint; default ok), read at every request. For the milliseconds in
// CATALINA_BASE/check-status-init-ms after Tomcat started the webapp it says "init", as the ICG does while
// it starts. Every answer is logged through the servlet context ("check-status VERDICT").
//
// Compiled by tests/tomcat/mod.rs against Tomcat 10's servlet-api.jar (jakarta.servlet).

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

public final class CheckStatus extends HttpServlet {
    private static final long serialVersionUID = 1L;
    private long readyAt;

    @Override
    public void init() {
        readyAt = System.nanoTime();
    }

    private static String read(Path file, String otherwise) {
        try {
            return new String(Files.readAllBytes(file), StandardCharsets.UTF_8).trim();
        } catch (IOException e) {
            return otherwise;
        }
    }

    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        Path base = Paths.get(System.getProperty("catalina.base"));
        String verdict = read(base.resolve("check-status"), "ok");
        long initMs;
        try {
            initMs = Long.parseLong(read(base.resolve("check-status-init-ms"), "0"));
        } catch (NumberFormatException e) {
            initMs = 0;
        }
        if ((System.nanoTime() - readyAt) / 1000000L < initMs) {
            verdict = "init";
        }
        log("check-status " + verdict);
        if (verdict.equals("404")) {
            resp.sendError(404);
            return;
        }
        resp.setContentType("application/json");
        resp.getWriter().print("{\"status\":\"" + verdict + "\"}");
    }
}
