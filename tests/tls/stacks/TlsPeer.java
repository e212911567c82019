// A classic TLS 1.3 peer on Java's JSSE, for the fallback matrix of test_classic_matrix.py.
// Run as a single source file (java TlsPeer.java ...):
//
//   client HOST PORT CA.pem SERVER_NAME MESSAGE
//       one JSON line: version, cipher, verified (PKIX to CA.pem, HTTPS name check), reply or error
//   server KEYSTORE.p12 PASSWORD
//       listens on 127.0.0.1, prints the port, then one JSON line per connection;
//       answers "java:" + the first read
import java.io.*;
import java.net.*;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.cert.*;
import java.util.List;
import javax.net.ssl.*;

public class TlsPeer {
    static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        return b.append('"').toString();
    }

    static void emit(String version, String cipher, boolean verified, String reply, String error) {
        StringBuilder b = new StringBuilder("{");
        if (version != null) b.append("\"version\":").append(quote(version)).append(',');
        if (cipher != null) b.append("\"cipher\":").append(quote(cipher)).append(',');
        if (reply != null) b.append("\"reply\":").append(quote(reply)).append(',');
        if (error != null) b.append("\"error\":").append(quote(error)).append(',');
        b.append("\"verified\":").append(verified).append('}');
        System.out.println(b);
        System.out.flush();
    }

    static String versionName(String p) {
        return "TLSv1.3".equals(p) ? "TLS 1.3" : p;
    }

    static String readSome(InputStream in) throws IOException {
        byte[] buf = new byte[4096];
        int n = in.read(buf);
        return n <= 0 ? "" : new String(buf, 0, n, StandardCharsets.UTF_8);
    }

    static void client(String host, int port, String caFile, String name, String message)
            throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        try (InputStream in = new FileInputStream(caFile)) {
            int i = 0;
            for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in))
                trust.setCertificateEntry("ca" + i++, c);
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
        tmf.init(trust);
        SSLContext ctx = SSLContext.getInstance("TLSv1.3");
        ctx.init(null, tmf.getTrustManagers(), null);
        Socket raw = new Socket();
        raw.connect(new InetSocketAddress(host, port), 20000);
        raw.setSoTimeout(20000);
        try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket(raw, name, port, true)) {
            SSLParameters params = s.getSSLParameters();
            params.setProtocols(new String[] {"TLSv1.3"});
            params.setServerNames(List.of(new SNIHostName(name)));
            params.setEndpointIdentificationAlgorithm("HTTPS");  // host name checked too
            s.setSSLParameters(params);
            try {
                s.startHandshake();
            } catch (IOException e) {
                emit(null, null, false, null, e.toString());
                return;
            }
            SSLSession sess = s.getSession();
            s.getOutputStream().write(message.getBytes(StandardCharsets.UTF_8));
            s.getOutputStream().flush();
            String reply = readSome(s.getInputStream());
            emit(versionName(sess.getProtocol()), sess.getCipherSuite(), true, reply, null);
        }
    }

    static void server(String p12, String password) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = new FileInputStream(p12)) {
            ks.load(in, password.toCharArray());
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, password.toCharArray());
        SSLContext ctx = SSLContext.getInstance("TLSv1.3");
        ctx.init(kmf.getKeyManagers(), null, null);
        SSLServerSocket srv = (SSLServerSocket) ctx.getServerSocketFactory()
                .createServerSocket(0, 8, InetAddress.getByName("127.0.0.1"));
        srv.setEnabledProtocols(new String[] {"TLSv1.3"});
        System.out.println(srv.getLocalPort());
        System.out.flush();
        while (true) {
            try (SSLSocket s = (SSLSocket) srv.accept()) {
                s.setSoTimeout(20000);
                try {
                    s.startHandshake();
                    SSLSession sess = s.getSession();
                    String got = readSome(s.getInputStream());
                    s.getOutputStream().write(("java:" + got).getBytes(StandardCharsets.UTF_8));
                    s.getOutputStream().flush();
                    emit(versionName(sess.getProtocol()), sess.getCipherSuite(), false, got, null);
                } catch (IOException e) {
                    emit(null, null, false, null, e.toString());
                }
            }
        }
    }

    public static void main(String[] a) throws Exception {
        if (a.length == 6 && a[0].equals("client")) {
            client(a[1], Integer.parseInt(a[2]), a[3], a[4], a[5]);
        } else if (a.length == 3 && a[0].equals("server")) {
            server(a[1], a[2]);
        } else {
            System.err.println("usage: TlsPeer client HOST PORT CA.pem NAME MESSAGE | server KS.p12 PW");
            System.exit(2);
        }
    }
}
