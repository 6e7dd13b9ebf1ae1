// IcgStandIn: a tiny HTTPS server that stands in for the IGEL Cloud Gateway
// (a Spring Boot application with embedded Tomcat) in icg-renew's end-to-end
// tests. It loads its TLS key from a Java keystore the way Spring Boot /
// Tomcat do, so a keystore the tool writes is accepted here only if the real
// gateway would accept it too.
//
// JDK only, single file. Compiles with `javac --release 8` and newer.
//
// Usage:
//   java -cp CLASSES IcgStandIn --keystore PATH --password-file FILE --port N
//        [--type JKS|PKCS12] [--key-password-file FILE] [--alias ALIAS]
//        [--startup-delay-ms N] [--status-file FILE] [--init-ms N]
//
// GET /usg/check-status answers like the ICG (2.04 and later): HTTP 200 with
// {"status":"init|ok|warn|err"}. For --init-ms after the server is ready it
// says "init"; then the verdict comes from --status-file, read at every
// request: lines "FINGERPRINT VERDICT" where FINGERPRINT is the served leaf's
// SHA-256 (upper-case hex with colons) or "*" for any leaf; a line for the
// served leaf wins over "*". VERDICT is init, ok, warn or err, or 404 (an ICG
// before 2.04: no endpoint). Without a file or a matching line: "ok". Every
// answer is logged on stderr as "check-status VERDICT".
//
// Passwords are read from files (first line, without the line terminator),
// never from the command line. --port 0 binds an ephemeral port; the bound
// port is what "ready <port>" reports.
//
// Output: "ready <port>" on stdout once listening; one informational line
// (alias, subject, serial) on stderr; "stopped" on stderr at shutdown.
// Exit status: 1 on start failure (one line on stderr), 2 on a usage error;
// on SIGTERM/SIGINT the server is stopped by a shutdown hook and the JVM
// exits 143/130 like any JVM (systemd units list 143 as success).

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;

import java.io.ByteArrayOutputStream;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Enumeration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509KeyManager;

public final class IcgStandIn {

    private static final String PREFIX = "icg-standin: ";
    private static final String STATUS_PATH = "/usg/check-status";

    /** Usage error: exit 2. */
    private static final class UsageException extends Exception {
        private static final long serialVersionUID = 1L;
        UsageException(String msg) { super(msg); }
    }

    /** Start failure: exit 1, message already human-readable. */
    private static final class StartException extends Exception {
        private static final long serialVersionUID = 1L;
        StartException(String msg) { super(msg); }
        StartException(String msg, Throwable cause) { super(msg, cause); }
    }

    private static final class Options {
        String keystore;
        String passwordFile;
        Integer port;
        String type;
        String keyPasswordFile;
        String alias;
        long startupDelayMs = 0;
        String statusFile;
        long initMs = 0;
    }

    /** When the server became ready (System.nanoTime), the init period, and where verdicts are set. */
    private static volatile long readyAt;
    private static long initNanos;
    private static String statusFile;
    /** SHA-256 of the served leaf, upper-case hex with colons. */
    private static String servedSha256 = "";

    public static void main(String[] args) {
        Options o;
        try {
            o = parse(args);
        } catch (UsageException e) {
            System.err.println(PREFIX + "usage error: " + e.getMessage()
                    + " (usage: IcgStandIn --keystore PATH --password-file FILE --port N"
                    + " [--type JKS|PKCS12] [--key-password-file FILE] [--alias ALIAS]"
                    + " [--startup-delay-ms N] [--status-file FILE] [--init-ms N])");
            System.exit(2);
            return;
        }
        try {
            run(o);
        } catch (StartException e) {
            fail(e.getMessage());
        } catch (Throwable t) {
            fail("start failed: " + describe(t));
        }
    }

    private static void fail(String msg) {
        System.err.println(PREFIX + oneLine(msg));
        System.err.flush();
        System.exit(1);
    }

    private static Options parse(String[] args) throws UsageException {
        Options o = new Options();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String v;
            int eq = a.indexOf('=');
            if (a.startsWith("--") && eq > 0) {
                v = a.substring(eq + 1);
                a = a.substring(0, eq);
            } else {
                if (!a.startsWith("--")) throw new UsageException("unexpected argument '" + a + "'");
                if (i + 1 >= args.length) throw new UsageException(a + " needs a value");
                v = args[++i];
            }
            if (a.equals("--keystore")) {
                o.keystore = v;
            } else if (a.equals("--password-file")) {
                o.passwordFile = v;
            } else if (a.equals("--port")) {
                o.port = parseInt(a, v, 0, 65535);
            } else if (a.equals("--type")) {
                o.type = v;
            } else if (a.equals("--key-password-file")) {
                o.keyPasswordFile = v;
            } else if (a.equals("--alias")) {
                o.alias = v;
            } else if (a.equals("--startup-delay-ms")) {
                o.startupDelayMs = parseInt(a, v, 0, Integer.MAX_VALUE);
            } else if (a.equals("--status-file")) {
                o.statusFile = v;
            } else if (a.equals("--init-ms")) {
                o.initMs = parseInt(a, v, 0, Integer.MAX_VALUE);
            } else {
                throw new UsageException("unknown option '" + a + "'");
            }
        }
        if (o.keystore == null) throw new UsageException("--keystore is required");
        if (o.passwordFile == null) throw new UsageException("--password-file is required");
        if (o.port == null) throw new UsageException("--port is required");
        return o;
    }

    private static int parseInt(String opt, String v, int min, int max) throws UsageException {
        try {
            int n = Integer.parseInt(v.trim());
            if (n < min || n > max) throw new UsageException(opt + " out of range: " + v);
            return n;
        } catch (NumberFormatException e) {
            throw new UsageException(opt + " is not a number: " + v);
        }
    }

    private static void run(Options o) throws Exception {
        // Passwords first: a missing password file is a configuration error
        // that the real gateway would also only notice when starting.
        char[] storePass = readPassword(o.passwordFile, "password file");
        char[] keyPass = o.keyPasswordFile != null
                ? readPassword(o.keyPasswordFile, "key password file")
                : storePass;

        // The ICG needs 10-15 s before Tomcat opens its connector (and only
        // then reads the keystore). Simulate that.
        if (o.startupDelayMs > 0) {
            Thread.sleep(o.startupDelayMs);
        }

        String type = o.type != null ? o.type : KeyStore.getDefaultType();
        KeyStore ks;
        try {
            ks = KeyStore.getInstance(type);
        } catch (Exception e) {
            throw new StartException("unsupported keystore type '" + type + "': " + describe(e), e);
        }
        InputStream in;
        try {
            in = new FileInputStream(o.keystore);
        } catch (IOException e) {
            throw new StartException("cannot open keystore " + o.keystore + ": " + describe(e), e);
        }
        try {
            ks.load(in, storePass);
        } catch (Exception e) {
            throw new StartException("cannot load " + type + " keystore " + o.keystore + ": " + describe(e), e);
        } finally {
            in.close();
        }

        // Like Tomcat: refuse to start without a usable key entry instead of
        // failing every handshake later.
        String chosen = o.alias != null ? o.alias : firstKeyAlias(ks);
        if (chosen == null) {
            throw new StartException("keystore " + o.keystore + " contains no private key entry");
        }
        if (!ks.containsAlias(chosen)) {
            throw new StartException("alias '" + chosen + "' not found in keystore " + o.keystore);
        }
        if (!ks.isKeyEntry(chosen)) {
            throw new StartException("alias '" + chosen + "' does not identify a key entry in " + o.keystore);
        }

        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        try {
            kmf.init(ks, keyPass);
        } catch (Exception e) {
            throw new StartException("cannot recover keys from " + o.keystore
                    + " (wrong key password?): " + describe(e), e);
        }
        KeyManager[] kms = kmf.getKeyManagers();
        X509KeyManager base = null;
        for (KeyManager km : kms) {
            if (km instanceof X509KeyManager) {
                base = (X509KeyManager) km;
                break;
            }
        }
        if (base == null) throw new StartException("no X509KeyManager from " + kmf.getAlgorithm());
        X509Certificate[] chain = base.getCertificateChain(chosen);
        PrivateKey key = base.getPrivateKey(chosen);
        if (chain == null || chain.length == 0 || key == null) {
            throw new StartException("alias '" + chosen + "' has no usable key/certificate chain in " + o.keystore);
        }
        if (o.alias != null) {
            kms = new KeyManager[] { new FixedAliasKeyManager(base, o.alias) };
        }

        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kms, null, null);
        final String[] protocols = enabledProtocols(ctx);

        HttpsServer server;
        InetSocketAddress addr = new InetSocketAddress(InetAddress.getByName("127.0.0.1"), o.port.intValue());
        try {
            server = HttpsServer.create(addr, 50);
        } catch (IOException e) {
            throw new StartException("cannot listen on 127.0.0.1:" + o.port + ": " + describe(e), e);
        }
        server.setHttpsConfigurator(new HttpsConfigurator(ctx) {
            @Override
            public void configure(HttpsParameters params) {
                SSLParameters p = getSSLContext().getDefaultSSLParameters();
                p.setProtocols(protocols);
                p.setNeedClientAuth(false);
                p.setWantClientAuth(false);
                params.setSSLParameters(p);
            }
        });
        server.createContext("/", new Handler());
        final ExecutorService pool = Executors.newFixedThreadPool(8, new ThreadFactory() {
            private int n = 0;
            @Override
            public synchronized Thread newThread(Runnable r) {
                Thread t = new Thread(r, "icg-standin-" + (++n));
                t.setDaemon(true);
                return t;
            }
        });
        server.setExecutor(pool);

        final HttpsServer srv = server;
        Runtime.getRuntime().addShutdownHook(new Thread(new Runnable() {
            @Override
            public void run() {
                srv.stop(0);
                pool.shutdownNow();
                try {
                    pool.awaitTermination(2, TimeUnit.SECONDS);
                } catch (InterruptedException ignored) {
                    // exiting anyway
                }
                System.err.println(PREFIX + "stopped");
                System.err.flush();
            }
        }, "icg-standin-shutdown"));

        servedSha256 = fingerprint(chain[0]);
        statusFile = o.statusFile;
        initNanos = o.initMs * 1000000L;
        readyAt = System.nanoTime();
        server.start();
        int port = server.getAddress().getPort();
        System.err.println(PREFIX + "listening on 127.0.0.1:" + port
                + " keystore=" + o.keystore + " type=" + type
                + " alias=" + chosen + (o.alias != null ? " (fixed by --alias)" : " (first key entry; KeyManagerFactory picks by key type)")
                + " subject=\"" + chain[0].getSubjectX500Principal().getName() + "\""
                + " serial=" + chain[0].getSerialNumber().toString(16)
                + " protocols=" + Arrays.toString(protocols));
        System.err.flush();
        System.out.println("ready " + port);
        System.out.flush();
        // The HttpServer dispatcher thread is non-daemon and keeps the JVM alive.
    }

    private static String fingerprint(X509Certificate cert) throws Exception {
        byte[] d = java.security.MessageDigest.getInstance("SHA-256").digest(cert.getEncoded());
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < d.length; i++) {
            if (i > 0) sb.append(':');
            sb.append(String.format("%02X", d[i] & 0xff));
        }
        return sb.toString();
    }

    /** The verdict check-status gives now (see the header). */
    private static String verdict() {
        if (System.nanoTime() - readyAt < initNanos) return "init";
        if (statusFile == null) return "ok";
        String any = null;
        try {
            byte[] data = java.nio.file.Files.readAllBytes(java.nio.file.Paths.get(statusFile));
            for (String line : new String(data, StandardCharsets.UTF_8).split("\n")) {
                String[] f = line.trim().split("\\s+");
                if (f.length != 2) continue;
                if (f[0].equalsIgnoreCase(servedSha256)) return f[1];
                if (f[0].equals("*")) any = f[1];
            }
        } catch (IOException e) {
            // no file: the default
        }
        return any != null ? any : "ok";
    }

    private static String firstKeyAlias(KeyStore ks) throws Exception {
        Enumeration<String> e = ks.aliases();
        while (e.hasMoreElements()) {
            String a = e.nextElement();
            if (ks.isKeyEntry(a)) return a;
        }
        return null;
    }

    /** TLS 1.2 and 1.3, restricted to what this JDK supports. */
    private static String[] enabledProtocols(SSLContext ctx) throws StartException {
        List<String> supported = Arrays.asList(ctx.getSupportedSSLParameters().getProtocols());
        List<String> out = new ArrayList<String>();
        for (String p : new String[] { "TLSv1.3", "TLSv1.2" }) {
            if (supported.contains(p)) out.add(p);
        }
        if (out.isEmpty()) throw new StartException("JDK supports neither TLSv1.2 nor TLSv1.3");
        return out.toArray(new String[0]);
    }

    /** First line of the file, without '\n' / "\r\n". */
    private static char[] readPassword(String path, String what) throws StartException {
        byte[] data;
        try {
            InputStream in = new FileInputStream(path);
            try {
                ByteArrayOutputStream bo = new ByteArrayOutputStream();
                byte[] buf = new byte[4096];
                int n;
                while ((n = in.read(buf)) > 0) bo.write(buf, 0, n);
                data = bo.toByteArray();
            } finally {
                in.close();
            }
        } catch (IOException e) {
            throw new StartException("cannot read " + what + " " + path + ": " + describe(e), e);
        }
        String s = new String(data, StandardCharsets.UTF_8);
        int nl = s.indexOf('\n');
        if (nl >= 0) s = s.substring(0, nl);
        if (s.endsWith("\r")) s = s.substring(0, s.length() - 1);
        Arrays.fill(data, (byte) 0);
        return s.toCharArray();
    }

    private static String describe(Throwable t) {
        StringBuilder sb = new StringBuilder();
        Throwable cur = t;
        int depth = 0;
        while (cur != null && depth < 4) {
            if (depth > 0) sb.append(" <- ");
            sb.append(cur.getClass().getSimpleName());
            if (cur.getMessage() != null) sb.append(": ").append(cur.getMessage());
            Throwable next = cur.getCause();
            if (next == cur) break;
            cur = next;
            depth++;
        }
        return sb.toString();
    }

    private static String oneLine(String s) {
        return s.replace('\r', ' ').replace('\n', ' ');
    }

    private static final class Handler implements HttpHandler {
        @Override
        public void handle(HttpExchange ex) throws IOException {
            try {
                // Drain any request body so the connection can be reused.
                InputStream in = ex.getRequestBody();
                byte[] buf = new byte[1024];
                while (in.read(buf) > 0) {
                    // discard
                }
                String path = ex.getRequestURI().getPath();
                String method = ex.getRequestMethod();
                String verdict = STATUS_PATH.equals(path) ? verdict() : "404";
                if (STATUS_PATH.equals(path)) {
                    System.err.println(PREFIX + "check-status " + verdict);
                    System.err.flush();
                }
                if (!verdict.equals("404") && ("GET".equals(method) || "HEAD".equals(method))) {
                    byte[] body = ("{\"status\":\"" + verdict + "\"}").getBytes(StandardCharsets.UTF_8);
                    ex.getResponseHeaders().set("Content-Type", "application/json");
                    if ("HEAD".equals(method)) {
                        ex.sendResponseHeaders(200, -1);
                    } else {
                        ex.sendResponseHeaders(200, body.length);
                        OutputStream out = ex.getResponseBody();
                        out.write(body);
                        out.close();
                    }
                } else {
                    byte[] body = "{\"status\":404,\"error\":\"Not Found\"}".getBytes(StandardCharsets.UTF_8);
                    ex.getResponseHeaders().set("Content-Type", "application/json");
                    ex.sendResponseHeaders(404, body.length);
                    OutputStream out = ex.getResponseBody();
                    out.write(body);
                    out.close();
                }
            } finally {
                ex.close();
            }
        }
    }

    /**
     * Serves exactly one alias, like Tomcat's JSSEKeyManager with
     * server.ssl.key-alias set. Client-side methods and lookups delegate.
     */
    private static final class FixedAliasKeyManager extends X509ExtendedKeyManager {
        private final X509KeyManager delegate;
        private final String alias;

        FixedAliasKeyManager(X509KeyManager delegate, String alias) {
            this.delegate = delegate;
            this.alias = alias;
        }

        @Override
        public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
            return alias;
        }

        @Override
        public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
            return alias;
        }

        @Override
        public String[] getServerAliases(String keyType, Principal[] issuers) {
            return new String[] { alias };
        }

        @Override
        public String[] getClientAliases(String keyType, Principal[] issuers) {
            return delegate.getClientAliases(keyType, issuers);
        }

        @Override
        public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
            return delegate.chooseClientAlias(keyType, issuers, socket);
        }

        @Override
        public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
            if (delegate instanceof X509ExtendedKeyManager) {
                return ((X509ExtendedKeyManager) delegate).chooseEngineClientAlias(keyType, issuers, engine);
            }
            return null;
        }

        @Override
        public X509Certificate[] getCertificateChain(String a) {
            return delegate.getCertificateChain(a);
        }

        @Override
        public PrivateKey getPrivateKey(String a) {
            return delegate.getPrivateKey(a);
        }
    }

    private IcgStandIn() {
    }
}
