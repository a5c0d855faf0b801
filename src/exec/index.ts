// The exec stage's public surface: what the CLI (the composition root) wires together.

export { ApiIdentity, type ApiIdentityOptions, actorName, type VerifiedIdentity } from './api-identity.ts';
export {
  ApprovalService,
  type ApprovalServiceOptions,
  type DecisionOutcome,
  type ProposalState,
} from './approvals.ts';
export {
  AUDIT_SCHEMA,
  type AuditEntry,
  AuditLedger,
  LedgerWriteError,
  scanLedger,
  verifyLedgerFile,
  verifyLedgerText,
} from './audit.ts';
export type { LedgerWriter } from './audit-writer.ts';
export {
  type ExecKube,
  ExecKubeClient,
  type ExecKubeSettings,
  execKubeConfig,
  KubeApiError,
  RotatingTokenFile,
} from './kube-client.ts';
export { checkPermissions, type PermissionReport } from './permissions.ts';
export { registerExecRoutes } from './routes.ts';
export { scaleDeployment } from './scaler.ts';
export { slackSignature, verifySlackSignature } from './slack-signature.ts';
