"""Audit a whole data set as a batch job (one process or torchrun's ranks) into a store on disk."""

from .run import AuditRun, run_audit
from .store import AuditStore

__all__ = ["AuditRun", "AuditStore", "run_audit"]
