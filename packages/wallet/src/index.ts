/**
 * @subnet/wallet: keystore V3 files (geth-compatible), a store of named wallets (a coldkey and hotkeys
 * each), and password sources for the CLI. Private keys leave this package only as viem accounts, or
 * through `exportPrivateKey` when a user explicitly asks.
 */
export { isWalletError, WalletError, WalletErrorCode, type WalletErrorMeta } from './errors.js';
export { SCRYPT_LIGHT, SCRYPT_STANDARD, type ScryptParams } from './kdf.js';
export {
  decryptKeystore,
  type EncryptKeystoreOpts,
  encryptKeystore,
  type KdfOption,
  type KeystoreV3,
  KeystoreV3Schema,
  keystoreAddress,
  normalizePrivateKey,
  parseKeystore,
  type ScryptKeystoreV3,
  scryptParamsOf,
} from './keystore.js';
export {
  checkPasswordEnvName,
  DEFAULT_PASSWORD_ENV,
  type PromptInput,
  promptHidden,
  type ResolvePasswordOpts,
  resolvePassword,
} from './password.js';
export { peerIdOfPublicKey } from './peerId.js';
export {
  COLDKEY,
  type CreateWalletOpts,
  checkName,
  createWalletStore,
  defaultWalletDir,
  type ImportKeyOpts,
  type KeyInfo,
  MIN_PASSWORD_LENGTH,
  NAME_PATTERN,
  type NodeKeyOpts,
  type SignalOpts,
  unlockNodeHotkey,
  type WalletInfo,
  type WalletStore,
  type WalletStoreOpts,
} from './store.js';
