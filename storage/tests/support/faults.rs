//! An opendal layer that fails chosen operations, placed under the store's retry layer the
//! way a flaky network or a strict bucket policy would be.
//!
//! A [`Fault`] names an operation, an optional key fragment, the error and how many times it
//! strikes; [`Faults`] holds the plan and counts what was injected. A fault strikes before the
//! request reaches the service, so a retried request is the same request again, or, as a
//! lost reply, after the service has done it.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use opendal::raw::*;
use opendal::*;

/// What a fault interrupts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Stat,
    /// Opening or reading a range of a file.
    Read,
    /// Writing bytes to a file.
    Write,
    /// Closing a written file, which makes it exist.
    Close,
    /// Fetching the next page of a listing.
    List,
    Delete,
}

/// One kind of failure, struck `times` times on the keys containing `key`.
#[derive(Debug, Clone)]
pub struct Fault {
    pub op: Op,
    pub key: &'static str,
    pub kind: ErrorKind,
    pub temporary: bool,
    pub times: usize,
    /// Strikes after the service succeeded: the request was done but its reply was lost.
    pub reply_lost: bool,
}

impl Fault {
    /// A failure a retry may cure (a 503, a reset connection).
    pub fn transient(op: Op, times: usize) -> Self {
        Fault {
            op,
            key: "",
            kind: ErrorKind::Unexpected,
            temporary: true,
            times,
            reply_lost: false,
        }
    }

    /// A failure no retry cures.
    pub fn permanent(op: Op, kind: ErrorKind) -> Self {
        Fault {
            op,
            key: "",
            kind,
            temporary: false,
            times: usize::MAX,
            reply_lost: false,
        }
    }

    /// Strikes `times` times only.
    pub fn times(mut self, times: usize) -> Self {
        self.times = times;
        self
    }

    /// Only on keys containing `key`.
    pub fn on(mut self, key: &'static str) -> Self {
        self.key = key;
        self
    }

    /// After the service has done the request.
    pub fn after_success(mut self) -> Self {
        self.reply_lost = true;
        self
    }
}

/// The faults still to strike, and the ones struck.
#[derive(Debug, Default)]
pub struct Faults {
    plan: Mutex<Vec<Fault>>,
    struck: Mutex<Vec<(Op, String)>>,
}

impl Faults {
    pub fn new(plan: Vec<Fault>) -> Arc<Self> {
        Arc::new(Faults {
            plan: Mutex::new(plan),
            struck: Mutex::default(),
        })
    }

    /// How many times a fault struck `op`.
    pub fn struck(&self, op: Op) -> usize {
        let struck = self.struck.lock().unwrap_or_else(PoisonError::into_inner);
        struck.iter().filter(|(o, _)| *o == op).count()
    }

    /// How many times any fault struck.
    pub fn total(&self) -> usize {
        self.struck
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Adds faults to the plan.
    pub fn add(&self, faults: impl IntoIterator<Item = Fault>) {
        let mut plan = self.plan.lock().unwrap_or_else(PoisonError::into_inner);
        plan.extend(faults);
    }

    /// Stops injecting: the store recovers.
    pub fn heal(&self) {
        self.plan
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// Runs `request` between the faults planned before and after it.
    async fn around<T>(
        &self,
        op: Op,
        path: &str,
        request: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        self.strike(op, path, false)?;
        let done = request.await?;
        self.strike(op, path, true)?;
        Ok(done)
    }

    fn strike(&self, op: Op, path: &str, reply_lost: bool) -> Result<()> {
        let mut plan = self.plan.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(fault) = plan.iter_mut().find(|f| {
            f.op == op && f.times > 0 && f.reply_lost == reply_lost && path.contains(f.key)
        }) else {
            return Ok(());
        };
        fault.times -= 1;
        let err = Error::new(fault.kind, format!("injected fault on {op:?} {path}"));
        let err = if fault.temporary {
            err.set_temporary()
        } else {
            err
        };
        drop(plan);
        self.struck
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((op, path.to_owned()));
        Err(err)
    }
}

/// The layer: `Operator::new(service)?.layer(FaultLayer(faults))`, then the store's own
/// layers on top.
#[derive(Debug, Clone)]
pub struct FaultLayer(pub Arc<Faults>);

impl Layer for FaultLayer {
    fn apply_service(&self, inner: Servicer) -> Servicer {
        Arc::new(FaultService {
            inner,
            faults: Arc::clone(&self.0),
        })
    }
}

#[derive(Debug)]
struct FaultService {
    inner: Servicer,
    faults: Arc<Faults>,
}

/// A reader, writer, lister or deleter of the service underneath, with the plan beside it.
struct Faulty<T> {
    inner: T,
    faults: Arc<Faults>,
    path: String,
}

impl FaultService {
    fn wrap<T>(&self, inner: T, path: &str) -> Faulty<T> {
        Faulty {
            inner,
            faults: Arc::clone(&self.faults),
            path: path.to_owned(),
        }
    }
}

impl Service for FaultService {
    type Reader = Faulty<oio::Reader>;
    type Writer = Faulty<oio::Writer>;
    type Lister = Faulty<oio::Lister>;
    type Deleter = Faulty<oio::Deleter>;
    type Copier = oio::Copier;
    type Composer = oio::Composer;

    fn info(&self) -> ServiceInfo {
        self.inner.info()
    }

    fn capability(&self) -> Capability {
        self.inner.capability()
    }

    async fn create_dir(
        &self,
        ctx: &OperationContext,
        path: &str,
        args: OpCreateDir,
    ) -> Result<RpCreateDir> {
        self.inner.create_dir(ctx, path, args).await
    }

    async fn stat(&self, ctx: &OperationContext, path: &str, args: OpStat) -> Result<RpStat> {
        let request = self.inner.stat(ctx, path, args);
        self.faults.around(Op::Stat, path, request).await
    }

    fn read(&self, ctx: &OperationContext, path: &str, args: OpRead) -> Result<Self::Reader> {
        Ok(self.wrap(self.inner.read(ctx, path, args)?, path))
    }

    fn write(&self, ctx: &OperationContext, path: &str, args: OpWrite) -> Result<Self::Writer> {
        Ok(self.wrap(self.inner.write(ctx, path, args)?, path))
    }

    fn delete(&self, ctx: &OperationContext) -> Result<Self::Deleter> {
        Ok(self.wrap(self.inner.delete(ctx)?, ""))
    }

    fn list(&self, ctx: &OperationContext, path: &str, args: OpList) -> Result<Self::Lister> {
        Ok(self.wrap(self.inner.list(ctx, path, args)?, path))
    }

    fn copy(
        &self,
        ctx: &OperationContext,
        from: &str,
        to: &str,
        args: OpCopy,
    ) -> Result<Self::Copier> {
        self.inner.copy(ctx, from, to, args)
    }

    fn compose(&self, ctx: &OperationContext, to: &str, args: OpCompose) -> Result<Self::Composer> {
        self.inner.compose(ctx, to, args)
    }

    async fn rename(
        &self,
        ctx: &OperationContext,
        from: &str,
        to: &str,
        args: OpRename,
    ) -> Result<RpRename> {
        self.inner.rename(ctx, from, to, args).await
    }

    async fn presign(
        &self,
        ctx: &OperationContext,
        path: &str,
        args: OpPresign,
    ) -> Result<RpPresign> {
        self.inner.presign(ctx, path, args).await
    }
}

impl oio::Read for Faulty<oio::Reader> {
    async fn open(&self, range: BytesRange) -> Result<(RpRead, Box<dyn oio::ReadStreamDyn>)> {
        let request = self.inner.open(range);
        self.faults.around(Op::Read, &self.path, request).await
    }

    async fn read(&self, range: BytesRange) -> Result<(RpRead, Buffer)> {
        let request = self.inner.read(range);
        self.faults.around(Op::Read, &self.path, request).await
    }
}

impl oio::Write for Faulty<oio::Writer> {
    async fn write(&mut self, bs: Buffer) -> Result<()> {
        let request = self.inner.write(bs);
        self.faults.around(Op::Write, &self.path, request).await
    }

    async fn close(&mut self) -> Result<Metadata> {
        let request = self.inner.close();
        self.faults.around(Op::Close, &self.path, request).await
    }

    async fn abort(&mut self) -> Result<()> {
        self.inner.abort().await
    }
}

impl oio::List for Faulty<oio::Lister> {
    async fn next(&mut self) -> Result<Option<oio::Entry>> {
        let request = self.inner.next();
        self.faults.around(Op::List, &self.path, request).await
    }
}

impl oio::Delete for Faulty<oio::Deleter> {
    async fn delete(&mut self, path: &str, args: OpDelete) -> Result<()> {
        let request = self.inner.delete(path, args);
        self.faults.around(Op::Delete, path, request).await
    }

    async fn close(&mut self) -> Result<()> {
        self.inner.close().await
    }
}
