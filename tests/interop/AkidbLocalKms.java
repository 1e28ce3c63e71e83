// A KMS client for parquet-java's PropertiesDrivenCryptoFactory (and so Spark) that wraps keys
// the way akidb-snapshot does (docs/ENCRYPTION.md): AES-GCM under the master key, a fresh 12-byte
// nonce, the master key's id as AAD, stored as base64 of nonce || ciphertext || tag. The master
// keys come from the Hadoop property `akidb.master.keys`: `ID:HEX[,ID:HEX...]`.
//
// tests/interop/check_spark.py compiles it against PySpark's jars and puts it on Spark's class
// path, as docs/ENCRYPTION.md's Spark recipe does. A production KMS client would ask a real
// KMS instead of holding the keys.

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;

import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.crypto.KeyAccessDeniedException;
import org.apache.parquet.crypto.keytools.KmsClient;

public class AkidbLocalKms implements KmsClient {
    public static final String KEYS_PROPERTY = "akidb.master.keys";
    private static final int NONCE_BYTES = 12;
    private static final int TAG_BITS = 128;

    private final Map<String, byte[]> keys = new HashMap<>();
    private final SecureRandom random = new SecureRandom();

    @Override
    public void initialize(Configuration configuration, String kmsInstanceID, String kmsInstanceURL,
            String accessToken) {
        String list = configuration.getTrimmed(KEYS_PROPERTY, "");
        for (String entry : list.split(",")) {
            if (entry.isEmpty()) {
                continue;
            }
            int colon = entry.lastIndexOf(':');
            keys.put(entry.substring(0, colon).trim(), hex(entry.substring(colon + 1).trim()));
        }
    }

    @Override
    public String wrapKey(byte[] keyBytes, String masterKeyIdentifier) throws KeyAccessDeniedException {
        byte[] nonce = new byte[NONCE_BYTES];
        random.nextBytes(nonce);
        byte[] sealed = run(Cipher.ENCRYPT_MODE, masterKeyIdentifier, nonce, keyBytes);
        byte[] out = Arrays.copyOf(nonce, NONCE_BYTES + sealed.length);
        System.arraycopy(sealed, 0, out, NONCE_BYTES, sealed.length);
        return Base64.getEncoder().encodeToString(out);
    }

    @Override
    public byte[] unwrapKey(String wrappedKey, String masterKeyIdentifier) throws KeyAccessDeniedException {
        byte[] raw = Base64.getDecoder().decode(wrappedKey);
        byte[] nonce = Arrays.copyOfRange(raw, 0, NONCE_BYTES);
        byte[] sealed = Arrays.copyOfRange(raw, NONCE_BYTES, raw.length);
        return run(Cipher.DECRYPT_MODE, masterKeyIdentifier, nonce, sealed);
    }

    private byte[] run(int mode, String id, byte[] nonce, byte[] input) throws KeyAccessDeniedException {
        byte[] master = keys.get(id);
        if (master == null) {
            throw new KeyAccessDeniedException("no master key " + id);
        }
        try {
            Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
            cipher.init(mode, new SecretKeySpec(master, "AES"), new GCMParameterSpec(TAG_BITS, nonce));
            cipher.updateAAD(id.getBytes(StandardCharsets.UTF_8));
            return cipher.doFinal(input);
        } catch (java.security.GeneralSecurityException e) {
            throw new KeyAccessDeniedException("key " + id + " does not open the wrapped key", e);
        }
    }

    private static byte[] hex(String text) {
        byte[] out = new byte[text.length() / 2];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) Integer.parseInt(text.substring(2 * i, 2 * i + 2), 16);
        }
        return out;
    }
}
