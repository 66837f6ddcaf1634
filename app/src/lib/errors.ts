// A clear message for every error the engine can return: the API's ErrorCode values
// (engine/service/src/api/mod.rs) and the state machine's RejectReason names
// (engine/core/src/error.rs), which rejections carry as their code.

export const REJECT_MESSAGES: Record<string, string> = {
  BadSignature: 'The signature does not verify for this key.',
  UnknownAccount: 'No such account. Deposit first to open one.',
  WrongSigner: 'This account belongs to another key.',
  StaleNonce: 'Nonce already used (another tab or device may be signing for this account). Retry.',
  SystemAccount: 'System accounts cannot trade.',
  UnknownMarket: 'Unknown market.',
  MarketHalted: 'The market is halted: only cancels are accepted.',
  MarketReduceOnly: 'The market accepts only orders that reduce a position.',
  NoOraclePrice: 'The market has no oracle price yet.',
  StaleOraclePrice: 'The oracle price is stale; orders resume when it updates.',
  BelowMinimumSize: 'Size is below the market minimum.',
  SizeTooLarge: 'Size is larger than the largest accepted order.',
  PriceOutOfRange: 'Price is zero or above the largest accepted price.',
  PriceNotOnTick: 'Price is not a multiple of the tick size.',
  PostOnlyWouldCross: 'Post-only order would have taken liquidity: rejected.',
  FillOrKillNotFilled: 'Fill-or-kill order could not be filled completely: rejected.',
  ReduceOnlyWouldIncrease: 'Reduce-only order would not reduce the position.',
  TooManyOpenOrders: 'Too many open orders on this account.',
  DuplicateClientOrderId: 'Client order id already used by an open order in this market.',
  UnknownOrder: 'No such open order (already filled or cancelled).',
  NothingToModify: 'The modification changes nothing.',
  InsufficientMargin: 'Insufficient margin: the fill would leave the account below its initial requirement.',
  OpenInterestCap: "The market's open interest cap is reached.",
  ZeroAmount: 'Amount must be above zero.',
  InsufficientFreeCollateral: 'Withdrawal exceeds free (or settled) collateral.',
  NotLiquidatable: 'The account is above its maintenance requirement.',
  InvalidDeleverageList: 'Invalid deleveraging list.',
  OracleOutOfOrder: 'Oracle price out of order.',
  InvalidMarketConfig: 'Invalid market configuration.',
  ArithmeticOverflow: 'Value out of range.',
  SessionExpired: 'The session key has expired: sign in again.',
};

export const ERROR_MESSAGES: Record<string, string> = {
  malformed_json: 'The request was malformed.',
  payload_too_large: 'The request is too large.',
  too_many_actions: 'Too many actions in one request.',
  malformed_action: 'The action could not be decoded.',
  bad_signature: 'The signature was refused.',
  rate_limited: 'Rate limited: too many actions from this key. Wait a moment.',
  overloaded: 'The engine is overloaded; retry shortly.',
  engine_unavailable: 'The engine is unavailable.',
  unknown_market: 'Unknown market.',
  unknown_account: 'Unknown account.',
  faucet_disabled: 'The development faucet is off on this engine; deposits come from Solana.',
  deposit_rejected: 'The deposit was refused.',
  lagged: 'The live feed fell behind; reconnecting.',
  history_unavailable: 'History is unavailable.',
  unknown_interval: 'Unknown candle interval.',
  unknown_batch: 'The engine keeps no such batch.',
};

/** A message for an error code of either kind. */
export function describeError(code: string, fallback?: string): string {
  return REJECT_MESSAGES[code] ?? ERROR_MESSAGES[code] ?? fallback ?? code;
}

/** Why an order left the book without filling (CancelReason). */
export const CANCEL_MESSAGES: Record<string, string> = {
  Requested: 'cancelled',
  Unfilled: 'unfilled rest cancelled',
  SelfTrade: 'self-trade prevention',
  InsufficientMargin: 'cancelled: insufficient margin',
  ReduceOnly: 'cancelled: nothing left to reduce',
  OpenInterestCap: 'cancelled: open interest cap',
  Liquidation: 'cancelled: liquidation',
};
