//! TLS for tests: certificates made by `openssl` (a test CA, an unrelated CA, a server
//! certificate for 127.0.0.1/localhost and one for another host name), and a `redis-server`
//! that speaks only TLS.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use anyhow::{Context, bail};
use tokio::process::{Child, Command};

use super::path;
use crate::{free_port, wait_until};

/// A directory of PEM files, removed on drop. Keys are EC P-256: fast to make, and what ring
/// verifies.
pub struct TestPki {
    dir: PathBuf,
}

impl TestPki {
    /// `ca.pem` (the test CA); `other-ca.pem` (a CA nobody's certificates are signed by);
    /// `server.{pem,key}` for `localhost` and `127.0.0.1`, and `wrong-host.{pem,key}` for
    /// `other.example`, both signed by the test CA.
    pub async fn make() -> anyhow::Result<TestPki> {
        let dir = std::env::temp_dir().join(format!("sluice-pki-{}", ulid::Ulid::generate()));
        std::fs::create_dir_all(&dir)?;
        let pki = TestPki { dir };
        pki.ca("ca", "sluice test CA").await?;
        pki.ca("other-ca", "unrelated test CA").await?;
        pki.leaf("server", "localhost", "DNS:localhost,IP:127.0.0.1")
            .await?;
        pki.leaf("wrong-host", "other.example", "DNS:other.example")
            .await?;
        Ok(pki)
    }

    /// The file `name` (e.g. `ca.pem`, `server.key`).
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// [`file`](Self::file) as a string, for environment variables and URLs.
    pub fn path(&self, name: &str) -> String {
        path(&self.file(name)).to_owned()
    }

    async fn ca(&self, name: &str, cn: &str) -> anyhow::Result<()> {
        let key = self.path(&format!("{name}.key"));
        let pem = self.path(&format!("{name}.pem"));
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &pem,
            "-days",
            "2",
            "-subj",
            &format!("/CN={cn}"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ])
        .await
    }

    async fn leaf(&self, name: &str, cn: &str, san: &str) -> anyhow::Result<()> {
        let (key, csr, pem, ext) = (
            self.path(&format!("{name}.key")),
            self.path(&format!("{name}.csr")),
            self.path(&format!("{name}.pem")),
            self.path(&format!("{name}.ext")),
        );
        std::fs::write(
            &ext,
            format!(
                "subjectAltName={san}\nbasicConstraints=CA:FALSE\n\
                 keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
            ),
        )?;
        openssl(&[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &csr,
            "-subj",
            &format!("/CN={cn}"),
        ])
        .await?;
        let serial = format!("0x{}", ulid::Ulid::generate().0 & u128::from(u64::MAX));
        openssl(&[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &self.path("ca.pem"),
            "-CAkey",
            &self.path("ca.key"),
            "-set_serial",
            &serial,
            "-days",
            "2",
            "-out",
            &pem,
            "-extfile",
            &ext,
        ])
        .await
    }
}

impl Drop for TestPki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn openssl(args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new("openssl")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .context("running openssl (apt-get install openssl)")?;
    if !out.status.success() {
        bail!(
            "openssl {}: {}",
            args[0],
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// A `redis-server` listening with TLS only (`--port 0 --tls-port P`), presenting `cert`;
/// clients are not asked for certificates.
pub struct TlsRedis {
    pub port: u16,
    child: Child,
}

impl TlsRedis {
    /// Starts it with the certificate `cert`/`key` of `pki` (e.g. `server`) and, if given, a
    /// password; returns once the TLS port accepts connections.
    pub async fn start(pki: &TestPki, cert: &str, password: Option<&str>) -> anyhow::Result<Self> {
        let port = free_port();
        let mut cmd = Command::new("redis-server");
        cmd.args([
            "--port",
            "0",
            "--tls-port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
        ])
        .args(["--tls-cert-file", &pki.path(&format!("{cert}.pem"))])
        .args(["--tls-key-file", &pki.path(&format!("{cert}.key"))])
        .args(["--tls-ca-cert-file", &pki.path("ca.pem")])
        .args([
            "--tls-auth-clients",
            "no",
            "--save",
            "",
            "--appendonly",
            "no",
        ]);
        if let Some(p) = password {
            cmd.args(["--requirepass", p]);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("redis-server (apt-get install redis-server)")?;
        let listening = wait_until(Duration::from_secs(10), || async {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
        })
        .await;
        if !listening {
            bail!("redis-server with TLS did not listen on {port}");
        }
        Ok(TlsRedis { port, child })
    }

    /// `rediss://host:port` (with the password, if given).
    pub fn url(&self, host: &str, password: Option<&str>) -> String {
        match password {
            Some(p) => format!("rediss://default:{p}@{host}:{}", self.port),
            None => format!("rediss://{host}:{}", self.port),
        }
    }
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// Copies `name` of `pki` into `dir` (the server's own copy, which it may require to be owned by
/// its user and private).
pub fn copy_into(pki: &TestPki, name: &str, dir: &Path) -> anyhow::Result<PathBuf> {
    let to = dir.join(name);
    std::fs::copy(pki.file(name), &to)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(to)
}
