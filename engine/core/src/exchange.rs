//! The exchange: global state, accounts, and the one place where steps are applied.
//!
//! Every state change runs in a transaction (`Tx`): it reads committed state, works on
//! scratch copies of the accounts and market states it touches, records book operations, and
//! either commits all of it or nothing. A rejected action therefore leaves the state exactly
//! as it was (its nonce included). Multi-stage operations (a liquidation, a trigger firing)
//! are sequences of such transactions, each atomic.
//!
//! A step that is refused outright (a trader action, oracle update, liquidation request or
//! admin action that is rejected as a whole) changes nothing but the clock: time moved to its
//! timestamp, settling the funding hours due. [`StepOutcome::refused`] says so; the native
//! ledger then records a [`StepKind::Tick`] in its place, and the guest refuses a batch that
//! holds one (see [`crate::batch`]).

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use borsh::{BorshDeserialize, BorshSerialize};

use crate::account::{Account, PositionChange};
use crate::action::{
    Action, AdminAction, SignatureVerifier, SignedAction, SignedAdminAction, SignedOracleUpdate,
    action_message, admin_message, oracle_message,
};
use crate::batch::{Deposit, Step, StepKind, deposit_chain_next};
use crate::error::{Fatal, RejectReason, TxError};
use crate::event::Event;
use crate::fixed::{Price, Timestamp, to_quote};
use crate::funding::{settle_due_hours, sweepable_residue};
use crate::margin::{Health, liquidation_price};
use crate::market::{ConfigError, Market, MarketConfig, MarketState};
use crate::order::{RestingOrder, TriggerOrder};
use crate::prices::{apply_oracle, oracle_chain_next, refresh_mark};
use crate::sha256::Sha256Compression;
use crate::{AccountId, INSURANCE_FUND, MarketId, OrderId};

/// Exchange-wide settings.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ExchangeConfig {
    /// Separates deployments in signed messages (the settlement program's config address).
    pub exchange_id: [u8; 32],
    /// The key that signs admin actions; it also owns the insurance fund's account.
    pub admin: [u8; 32],
    /// The oracle authority: the key that signs the markets' oracle chains.
    pub oracle: [u8; 32],
    /// The most open orders (resting and trigger, all markets) one account may hold.
    pub max_open_orders: u32,
}

/// How far the on-chain deposit queue has been consumed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct DepositCursor {
    /// Sequence number of the next deposit to consume.
    pub next_sequence: u64,
    /// Hash chain over every consumed deposit (see [`deposit_chain_next`]).
    pub chain: [u8; 32],
}

/// Everything but the accounts: hashed whole into the state commitment.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct GlobalState {
    pub config: ExchangeConfig,
    /// Indexed by market id.
    pub markets: Vec<Market>,
    /// Accounts are numbered densely from 0 (the insurance fund).
    pub next_account_id: AccountId,
    pub next_order_id: OrderId,
    pub admin_nonce: u64,
    /// Trading fees collected (net of maker rebates), quote atoms.
    pub fees_collected: i128,
    /// The last sealed batch.
    pub batch_number: u64,
    pub last_timestamp_ms: Timestamp,
    pub deposits: DepositCursor,
    pub total_deposited: i128,
    pub total_withdrawn: i128,
}

/// Where the collateral is; see [`Exchange::balance_sheet`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BalanceSheet {
    /// Sum of account collateral (the insurance fund included).
    pub collateral: i128,
    /// Sum of unrealized PnL at the marks, which is minus the sum of position costs (the
    /// sizes sum to zero, so the mark terms cancel).
    pub unrealized_pnl: i128,
    pub fees: i128,
    /// Sum of the markets' funding pools.
    pub funding_pools: i128,
    pub deposited: i128,
    pub withdrawn: i128,
}

impl BalanceSheet {
    /// Conservation of collateral: nothing is created from nothing.
    pub fn balanced(&self) -> bool {
        self.collateral + self.unrealized_pnl + self.fees + self.funding_pools
            == self.deposited - self.withdrawn
    }
}

/// The whole state machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exchange {
    pub(crate) global: GlobalState,
    pub(crate) accounts: BTreeMap<AccountId, Account>,
    /// While a batch is open natively: each touched account's value before the batch (`None`
    /// for accounts the batch created).
    pub(crate) journal: Option<BTreeMap<AccountId, Option<Account>>>,
}

/// What applying a step did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepOutcome {
    /// For the engine to stream: what happened, rejections included.
    pub events: Vec<Event>,
    /// Why the step was refused as a whole, if it was: then it changed nothing but the clock.
    pub refused: Option<RejectReason>,
}

/// What one step produces, gathered while it runs.
#[derive(Debug, Default)]
pub(crate) struct StepContext {
    pub now: Timestamp,
    pub events: Vec<Event>,
    /// Markets whose book or trades changed: their marks are refreshed and their triggers run.
    pub touched: Vec<MarketId>,
    /// Set when the step is refused as a whole.
    pub refused: Option<RejectReason>,
}

impl StepContext {
    fn touch(&mut self, market: MarketId) {
        if !self.touched.contains(&market) {
            self.touched.push(market);
        }
    }
}

impl Exchange {
    /// A new exchange with these markets and an empty insurance fund (account 0, owned by the
    /// admin key).
    pub fn genesis(
        config: ExchangeConfig,
        markets: Vec<MarketConfig>,
    ) -> Result<Self, ConfigError> {
        let markets = markets
            .into_iter()
            .map(Market::new)
            .collect::<Result<Vec<_>, _>>()?;
        if markets.len() > usize::from(MarketId::MAX) {
            return Err(ConfigError::TooManyMarkets);
        }
        let mut accounts = BTreeMap::new();
        accounts.insert(INSURANCE_FUND, Account::new(config.admin));
        let global = GlobalState {
            config,
            markets,
            next_account_id: INSURANCE_FUND + 1,
            next_order_id: 1,
            admin_nonce: 0,
            fees_collected: 0,
            batch_number: 0,
            last_timestamp_ms: 0,
            deposits: DepositCursor::default(),
            total_deposited: 0,
            total_withdrawn: 0,
        };
        Ok(Self {
            global,
            accounts,
            journal: None,
        })
    }

    /// An exchange from its parts: the guest builds one from a witness holding only the
    /// accounts the batch touches.
    pub fn from_parts(global: GlobalState, accounts: BTreeMap<AccountId, Account>) -> Self {
        Self {
            global,
            accounts,
            journal: None,
        }
    }

    /// The global state.
    pub fn global(&self) -> &GlobalState {
        &self.global
    }

    /// A market.
    pub fn market(&self, id: MarketId) -> Option<&Market> {
        self.global.markets.get(usize::from(id))
    }

    /// An account.
    pub fn account(&self, id: AccountId) -> Option<&Account> {
        self.accounts.get(&id)
    }

    /// Every account held, by id.
    pub fn accounts(&self) -> impl Iterator<Item = (AccountId, &Account)> {
        self.accounts.iter().map(|(&id, account)| (id, account))
    }

    /// An account's risk at current marks.
    pub fn health(&self, id: AccountId) -> Option<Health> {
        Health::of(self.accounts.get(&id)?, &self.global.markets).ok()
    }

    /// The mark price of `market` at which `account` would become liquidatable.
    pub fn liquidation_price(&self, account: AccountId, market: MarketId) -> Option<u64> {
        liquidation_price(self.accounts.get(&account)?, &self.global.markets, market)
    }

    /// Where every quote atom is. Holds only for a complete state (natively).
    pub fn balance_sheet(&self) -> BalanceSheet {
        let mut sheet = BalanceSheet {
            fees: self.global.fees_collected,
            deposited: self.global.total_deposited,
            withdrawn: self.global.total_withdrawn,
            ..BalanceSheet::default()
        };
        for account in self.accounts.values() {
            sheet.collateral += i128::from(account.collateral);
            for position in &account.positions {
                sheet.unrealized_pnl -= i128::from(position.cost);
            }
        }
        for market in &self.global.markets {
            sheet.funding_pools += i128::from(market.state.funding_pool);
        }
        sheet
    }

    /// The account `id`: `None` if no account has that id, an error if it exists but this
    /// (partial) state does not hold it.
    pub(crate) fn lookup(&self, id: AccountId) -> Result<Option<&Account>, Fatal> {
        if id >= self.global.next_account_id {
            return Ok(None);
        }
        self.accounts
            .get(&id)
            .map(Some)
            .ok_or(Fatal::MissingWitness(id))
    }

    /// Records, while a batch is open, the pre-batch value of accounts about to be read or
    /// changed.
    pub(crate) fn journal_accounts(&mut self, ids: impl IntoIterator<Item = AccountId>) {
        let Self {
            journal, accounts, ..
        } = self;
        if let Some(journal) = journal {
            for id in ids {
                journal
                    .entry(id)
                    .or_insert_with(|| accounts.get(&id).cloned());
            }
        }
    }

    /// Applies one step at its timestamp. Every trader action, oracle update and liquidation
    /// either applies or is rejected with an event (and, when rejected as a whole, reported
    /// in [`StepOutcome::refused`]); an `Err` means the step itself is invalid (an operator
    /// error: time going back, a deposit out of sequence) and the state is unchanged, or, in
    /// a guest, that the witness lacks an account, after which the state must be discarded.
    ///
    /// `compression` hashes the deposit and oracle chains (see [`crate::sha256`]).
    pub fn apply_step<V: SignatureVerifier + ?Sized, C: Sha256Compression + ?Sized>(
        &mut self,
        step: &Step,
        verifier: &V,
        compression: &C,
    ) -> Result<StepOutcome, Fatal> {
        if let StepKind::Deposit(deposit) = &step.kind {
            self.check_deposit(deposit)?;
        }
        let ctx = self.at(step.timestamp_ms, |exchange, ctx| match &step.kind {
            StepKind::Trader(signed) => exchange.apply_signed(signed, verifier, ctx),
            StepKind::Oracle(signed) => {
                exchange.apply_oracle_update(signed, verifier, compression, ctx);
                Ok(())
            }
            StepKind::Deposit(deposit) => {
                exchange.apply_deposit(deposit, compression, ctx);
                Ok(())
            }
            StepKind::Liquidate {
                account,
                deleverage,
            } => exchange.liquidate(*account, deleverage, ctx),
            StepKind::Admin(signed) => {
                exchange.apply_admin(signed, verifier, ctx);
                Ok(())
            }
            StepKind::Tick => Ok(()),
        })?;
        Ok(StepOutcome {
            events: ctx.events,
            refused: ctx.refused,
        })
    }

    /// Applies a trader action that the caller has already authenticated (the engine's
    /// internal path, and the benchmark's): the nonce must still increase.
    pub fn apply_authorized(
        &mut self,
        account: AccountId,
        nonce: u64,
        action: &Action,
        now: Timestamp,
    ) -> Result<Vec<Event>, Fatal> {
        let ctx = self.at(now, |exchange, ctx| {
            exchange.run_action(account, nonce, action, ctx)
        })?;
        Ok(ctx.events)
    }

    /// Runs `body` as a step at `now`: time moves (settling funding hours) before it, marks
    /// and triggers settle after it.
    fn at(
        &mut self,
        now: Timestamp,
        body: impl FnOnce(&mut Self, &mut StepContext) -> Result<(), Fatal>,
    ) -> Result<StepContext, Fatal> {
        if now < self.global.last_timestamp_ms {
            return Err(Fatal::TimestampRegression);
        }
        let mut ctx = StepContext {
            now,
            ..StepContext::default()
        };
        self.global.last_timestamp_ms = now;
        self.settle_funding_hours(&mut ctx)?;
        body(self, &mut ctx)?;
        self.settle_markets(&mut ctx)?;
        Ok(ctx)
    }

    /// Advances the market's oracle chain and applies the price (see [`crate::prices`]).
    fn apply_oracle_update<V: SignatureVerifier + ?Sized, C: Sha256Compression + ?Sized>(
        &mut self,
        signed: &SignedOracleUpdate,
        verifier: &V,
        compression: &C,
        ctx: &mut StepContext,
    ) {
        let update = &signed.update;
        let config = &self.global.config;
        let chained = match self.global.markets.get(usize::from(update.market)) {
            None => Err(RejectReason::UnknownMarket),
            // The engine waits for its clock to reach the publish time.
            Some(_) if update.publish_time_ms > ctx.now => Err(RejectReason::OracleOutOfOrder),
            Some(market) => {
                let chain = oracle_chain_next(compression, &market.state.oracle_chain, update);
                let message = oracle_message(&config.exchange_id, update.market, &chain);
                if verifier.verify(&config.oracle, &message, &signed.signature) {
                    Ok(chain)
                } else {
                    Err(RejectReason::BadSignature)
                }
            }
        };
        let (chain, market) = match chained {
            Ok(chain) => match self.global.markets.get_mut(usize::from(update.market)) {
                Some(market) => (chain, market),
                None => return,
            },
            Err(reason) => {
                ctx.refused = Some(reason);
                ctx.events.push(Event::OracleRejected {
                    market: update.market,
                    reason,
                });
                return;
            }
        };
        market.state.oracle_chain = chain;
        let event = match apply_oracle(market, update.price, update.publish_time_ms, ctx.now) {
            Ok(()) => {
                ctx.touch(update.market);
                Event::OraclePrice {
                    market: update.market,
                    index_price: market.state.index_price,
                    mark_price: market.state.mark_price,
                }
            }
            Err(reason) => Event::OracleRejected {
                market: update.market,
                reason,
            },
        };
        ctx.events.push(event);
    }

    fn apply_signed<V: SignatureVerifier + ?Sized>(
        &mut self,
        signed: &SignedAction,
        verifier: &V,
        ctx: &mut StepContext,
    ) -> Result<(), Fatal> {
        self.journal_accounts([signed.account]);
        let authorized = match self.lookup(signed.account)? {
            None => Err(RejectReason::UnknownAccount),
            Some(account) => signer_may_act(account, signed, ctx.now),
        }
        .and_then(|()| {
            let message = action_message(
                &self.global.config.exchange_id,
                signed.account,
                signed.nonce,
                &signed.action,
            );
            if verifier.verify(&signed.trader, &message, &signed.signature) {
                Ok(())
            } else {
                Err(RejectReason::BadSignature)
            }
        });
        match authorized {
            Ok(()) => self.run_action(signed.account, signed.nonce, &signed.action, ctx),
            Err(reason) => {
                ctx.refused = Some(reason);
                ctx.events.push(Event::ActionRejected {
                    account: signed.account,
                    nonce: signed.nonce,
                    reason,
                });
                Ok(())
            }
        }
    }

    fn run_action(
        &mut self,
        account: AccountId,
        nonce: u64,
        action: &Action,
        ctx: &mut StepContext,
    ) -> Result<(), Fatal> {
        let outcome = self.run_tx(ctx, |tx| {
            if account == INSURANCE_FUND {
                return Err(RejectReason::SystemAccount.into());
            }
            let state = tx.account(account)?;
            if nonce <= state.last_nonce {
                return Err(RejectReason::StaleNonce.into());
            }
            state.last_nonce = nonce;
            tx.events.push(Event::ActionAccepted { account, nonce });
            // Acting settles the account's funding everywhere, so what it sees is current.
            tx.settle_all(account)?;
            tx.dispatch(account, action)
        })?;
        if let Err(reason) = outcome {
            ctx.refused = Some(reason);
            ctx.events.push(Event::ActionRejected {
                account,
                nonce,
                reason,
            });
        }
        Ok(())
    }

    /// Runs `body` as one atomic transaction: commits everything it did, or, on a rejection,
    /// nothing.
    pub(crate) fn run_tx<T>(
        &mut self,
        ctx: &mut StepContext,
        body: impl FnOnce(&mut Tx<'_>) -> Result<T, TxError>,
    ) -> Result<Result<T, RejectReason>, Fatal> {
        let mut tx = Tx::new(self, ctx.now);
        let result = body(&mut tx);
        let changes = tx.into_changes();
        self.journal_accounts(changes.accounts.keys().copied());
        match result {
            Ok(value) => {
                self.commit(changes, ctx);
                Ok(Ok(value))
            }
            Err(TxError::Reject(reason)) => Ok(Err(reason)),
            Err(TxError::Fatal(fatal)) => Err(fatal),
        }
    }

    fn commit(&mut self, changes: Changes, ctx: &mut StepContext) {
        self.accounts.extend(changes.accounts);
        for (id, state) in changes.states {
            if let Some(market) = self.global.markets.get_mut(usize::from(id)) {
                market.state = state;
            }
        }
        for op in changes.ops {
            let id = op.market();
            ctx.touch(id);
            let Some(market) = self.global.markets.get_mut(usize::from(id)) else {
                continue;
            };
            let book = &mut market.book;
            match op {
                BookOp::Insert { order, .. } => book.insert(order),
                BookOp::Fill { order_id, lots, .. } => {
                    book.fill(order_id, lots);
                }
                BookOp::Remove { order_id, .. } => {
                    book.remove(order_id);
                }
                BookOp::InsertTrigger { order, .. } => book.insert_trigger(order),
                BookOp::RemoveTrigger { order_id, .. } => {
                    book.remove_trigger(order_id);
                }
            }
        }
        self.global.fees_collected += changes.fees;
        self.global.total_withdrawn += changes.withdrawn;
        self.global.next_order_id = changes.next_order_id;
        ctx.events.extend(changes.events);
    }

    /// Hourly funding of every market, and the sweep of funding rounding residue into the
    /// insurance fund.
    fn settle_funding_hours(&mut self, ctx: &mut StepContext) -> Result<(), Fatal> {
        for index in 0..self.global.markets.len() {
            let Some(market) = self.global.markets.get_mut(index) else {
                continue;
            };
            let Some(settlement) = settle_due_hours(market, ctx.now) else {
                continue;
            };
            let id = index as MarketId;
            ctx.events.push(Event::FundingRate {
                market: id,
                rate: settlement.rate,
                hours: settlement.hours,
                index: market.state.funding_index,
            });
            let residue = sweepable_residue(market);
            if residue > 0 {
                self.journal_accounts([INSURANCE_FUND]);
                let fund = self
                    .accounts
                    .get_mut(&INSURANCE_FUND)
                    .ok_or(Fatal::MissingWitness(INSURANCE_FUND))?;
                fund.collateral = fund.collateral.saturating_add(residue);
                if let Some(market) = self.global.markets.get_mut(index) {
                    market.state.funding_pool -= residue;
                }
                ctx.events.push(Event::FundingResidue {
                    market: id,
                    amount: residue,
                });
            }
        }
        Ok(())
    }

    /// Refreshes the marks of the markets the step touched and fires their triggers (each
    /// firing may trade, and so move the mark again), until no trigger fires.
    fn settle_markets(&mut self, ctx: &mut StepContext) -> Result<(), Fatal> {
        let mut index = 0;
        while let Some(&id) = ctx.touched.get(index) {
            index += 1;
            while let Some(fired) = self.fired_triggers(id) {
                for order_id in fired {
                    let Some(market) = self.global.markets.get_mut(usize::from(id)) else {
                        break;
                    };
                    let Some(order) = market.book.remove_trigger(order_id) else {
                        continue;
                    };
                    let mark_price = market.state.mark_price;
                    ctx.events.push(Event::Triggered {
                        market: id,
                        account: order.account,
                        order_id,
                        mark_price,
                    });
                    let outcome =
                        self.run_tx(ctx, |tx| tx.activate(&ActiveOrder::triggered(id, &order)))?;
                    if let Err(reason) = outcome {
                        ctx.events.push(Event::OrderRejected {
                            market: id,
                            account: order.account,
                            order_id,
                            reason,
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// Refreshes a market's mark and returns the trigger orders it fires, if any.
    fn fired_triggers(&mut self, id: MarketId) -> Option<Vec<OrderId>> {
        let market = self.global.markets.get_mut(usize::from(id))?;
        refresh_mark(market);
        let mark = market.state.mark_price;
        let fired = market.book.fired_by(mark);
        (mark != 0 && !fired.is_empty()).then_some(fired)
    }

    /// Checks a deposit against the queue cursor and the account it credits, changing
    /// nothing.
    fn check_deposit(&self, deposit: &Deposit) -> Result<(), Fatal> {
        if deposit.sequence != self.global.deposits.next_sequence {
            return Err(Fatal::DepositOutOfSequence);
        }
        if i64::try_from(deposit.amount).is_err() {
            return Err(Fatal::DepositTooLarge);
        }
        match self.lookup(deposit.account)? {
            Some(account) if account.owner == deposit.owner => account
                .collateral
                .checked_add(deposit.amount as i64)
                .map(|_| ())
                .ok_or(Fatal::DepositTooLarge),
            Some(_) => Err(Fatal::DepositOwnerMismatch),
            None if deposit.account == self.global.next_account_id
                && deposit.account < AccountId::MAX =>
            {
                Ok(())
            }
            None => Err(Fatal::DepositAccountInvalid),
        }
    }

    /// Credits a checked deposit, creating the account if it is new.
    fn apply_deposit<C: Sha256Compression + ?Sized>(
        &mut self,
        deposit: &Deposit,
        compression: &C,
        ctx: &mut StepContext,
    ) {
        self.journal_accounts([deposit.account]);
        let amount = deposit.amount as i64;
        if deposit.account == self.global.next_account_id {
            // `check_deposit` refuses a new account once ids run out.
            self.global.next_account_id = self.global.next_account_id.saturating_add(1);
        }
        let account = self
            .accounts
            .entry(deposit.account)
            .or_insert_with(|| Account::new(deposit.owner));
        account.collateral += amount;
        let cursor = &mut self.global.deposits;
        cursor.chain = deposit_chain_next(compression, &cursor.chain, deposit);
        cursor.next_sequence += 1;
        self.global.total_deposited += i128::from(amount);
        ctx.events.push(Event::Deposited {
            account: deposit.account,
            sequence: deposit.sequence,
            amount: deposit.amount,
        });
    }

    fn apply_admin<V: SignatureVerifier + ?Sized>(
        &mut self,
        signed: &SignedAdminAction,
        verifier: &V,
        ctx: &mut StepContext,
    ) {
        let message = admin_message(
            &self.global.config.exchange_id,
            signed.nonce,
            &signed.action,
        );
        let result = if signed.nonce <= self.global.admin_nonce {
            Err(RejectReason::StaleNonce)
        } else if !verifier.verify(&self.global.config.admin, &message, &signed.signature) {
            Err(RejectReason::BadSignature)
        } else {
            self.apply_admin_action(&signed.action)
        };
        match result {
            Ok(event) => {
                self.global.admin_nonce = signed.nonce;
                ctx.events.push(event);
            }
            Err(reason) => {
                ctx.refused = Some(reason);
                ctx.events.push(Event::AdminRejected {
                    nonce: signed.nonce,
                    reason,
                });
            }
        }
    }

    fn apply_admin_action(&mut self, action: &AdminAction) -> Result<Event, RejectReason> {
        match action {
            AdminAction::AddMarket(config) => {
                let id = MarketId::try_from(self.global.markets.len())
                    .map_err(|_| RejectReason::InvalidMarketConfig)?;
                let market =
                    Market::new(config.clone()).map_err(|_| RejectReason::InvalidMarketConfig)?;
                self.global.markets.push(market);
                Ok(Event::MarketAdded { market: id })
            }
            AdminAction::SetMarketStatus { market, status } => {
                let state = &mut self
                    .global
                    .markets
                    .get_mut(usize::from(*market))
                    .ok_or(RejectReason::UnknownMarket)?
                    .state;
                state.status = *status;
                Ok(Event::MarketStatusChanged {
                    market: *market,
                    status: *status,
                })
            }
        }
    }

    /// Opens the journal of touched accounts (a batch starts natively).
    pub(crate) fn open_journal(&mut self) {
        self.journal = Some(BTreeMap::new());
    }

    /// Closes the journal and returns it.
    pub(crate) fn take_journal(&mut self) -> BTreeMap<AccountId, Option<Account>> {
        self.journal.take().unwrap_or_default()
    }
}

/// Whether `signed.trader` may sign `signed.action` for `account`: its owner always; its
/// session key until the key expires, for anything but changing the session key.
fn signer_may_act(
    account: &Account,
    signed: &SignedAction,
    now: Timestamp,
) -> Result<(), RejectReason> {
    if account.owner == signed.trader {
        return Ok(());
    }
    match account.session {
        Some(session) if session.key == signed.trader => {
            if now >= session.expires_ms {
                Err(RejectReason::SessionExpired)
            } else if matches!(signed.action, Action::SetSessionKey { .. }) {
                Err(RejectReason::WrongSigner)
            } else {
                Ok(())
            }
        }
        _ => Err(RejectReason::WrongSigner),
    }
}

/// A book change a transaction will make when it commits.
#[derive(Clone, Copy, Debug)]
pub(crate) enum BookOp {
    Insert {
        market: MarketId,
        order: RestingOrder,
    },
    Fill {
        market: MarketId,
        order_id: OrderId,
        lots: u64,
    },
    Remove {
        market: MarketId,
        order_id: OrderId,
    },
    InsertTrigger {
        market: MarketId,
        order: TriggerOrder,
    },
    RemoveTrigger {
        market: MarketId,
        order_id: OrderId,
    },
}

impl BookOp {
    fn market(&self) -> MarketId {
        match *self {
            Self::Insert { market, .. }
            | Self::Fill { market, .. }
            | Self::Remove { market, .. }
            | Self::InsertTrigger { market, .. }
            | Self::RemoveTrigger { market, .. } => market,
        }
    }
}

/// What a transaction changes, handed back when it ends.
#[derive(Debug)]
pub(crate) struct Changes {
    accounts: BTreeMap<AccountId, Account>,
    states: BTreeMap<MarketId, MarketState>,
    ops: Vec<BookOp>,
    fees: i128,
    withdrawn: i128,
    next_order_id: OrderId,
    events: Vec<Event>,
}

/// One atomic state transition in progress: committed state to read, scratch copies to write.
#[derive(Debug)]
pub(crate) struct Tx<'a> {
    pub ex: &'a Exchange,
    pub now: Timestamp,
    accounts: BTreeMap<AccountId, Account>,
    states: BTreeMap<MarketId, MarketState>,
    pub ops: Vec<BookOp>,
    pub fees: i128,
    pub withdrawn: i128,
    next_order_id: OrderId,
    pub events: Vec<Event>,
}

impl<'a> Tx<'a> {
    fn new(ex: &'a Exchange, now: Timestamp) -> Self {
        Self {
            ex,
            now,
            accounts: BTreeMap::new(),
            states: BTreeMap::new(),
            ops: Vec::new(),
            fees: 0,
            withdrawn: 0,
            next_order_id: ex.global.next_order_id,
            events: Vec::new(),
        }
    }

    fn into_changes(self) -> Changes {
        Changes {
            accounts: self.accounts,
            states: self.states,
            ops: self.ops,
            fees: self.fees,
            withdrawn: self.withdrawn,
            next_order_id: self.next_order_id,
            events: self.events,
        }
    }

    /// A committed market.
    pub fn market(&self, id: MarketId) -> Result<&'a Market, RejectReason> {
        self.ex
            .global
            .markets
            .get(usize::from(id))
            .ok_or(RejectReason::UnknownMarket)
    }

    /// The scratch copy of an account, loaded on first use.
    pub fn account(&mut self, id: AccountId) -> Result<&mut Account, TxError> {
        let ex = self.ex;
        match self.accounts.entry(id) {
            alloc::collections::btree_map::Entry::Occupied(entry) => Ok(entry.into_mut()),
            alloc::collections::btree_map::Entry::Vacant(entry) => {
                let account = ex.lookup(id)?.ok_or(RejectReason::UnknownAccount)?;
                Ok(entry.insert(account.clone()))
            }
        }
    }

    /// The scratch copy of a market's dynamic state, loaded on first use.
    pub fn state(&mut self, id: MarketId) -> Result<&mut MarketState, TxError> {
        let market = self.market(id)?;
        Ok(self
            .states
            .entry(id)
            .or_insert_with(|| market.state.clone()))
    }

    /// Replaces an account's scratch copy (after a checked what-if computation).
    pub fn put_account(&mut self, id: AccountId, account: Account) {
        self.accounts.insert(id, account);
    }

    /// Risk of an account value (marks and funding indices do not change inside a
    /// transaction, so committed markets serve).
    pub fn health(&self, account: &Account) -> Result<Health, RejectReason> {
        Health::of(account, &self.ex.global.markets)
    }

    /// Risk of an account's scratch copy.
    pub fn account_health(&mut self, id: AccountId) -> Result<Health, TxError> {
        let ex = self.ex;
        Ok(Health::of(self.account(id)?, &ex.global.markets)?)
    }

    /// A fresh order id.
    pub fn allocate_order_id(&mut self) -> OrderId {
        let id = self.next_order_id;
        self.next_order_id = self.next_order_id.saturating_add(1);
        id
    }

    /// Settles `account`'s funding in `market`.
    pub fn settle(&mut self, account: AccountId, market: MarketId) -> Result<(), TxError> {
        // The index does not move inside a transaction: a position at it owes nothing, and
        // the market's state need not be copied.
        let index = self.market(market)?.state.funding_index;
        let settled = self
            .account(account)?
            .position(market)
            .is_none_or(|position| position.funding_snapshot == index);
        if settled {
            return Ok(());
        }
        self.state(market)?;
        let (Some(state), Some(scratch)) = (
            self.states.get_mut(&market),
            self.accounts.get_mut(&account),
        ) else {
            return Ok(());
        };
        let paid = scratch.settle_funding(market, state)?;
        if paid != 0 {
            self.events.push(Event::FundingPaid {
                account,
                market,
                amount: paid,
            });
        }
        Ok(())
    }

    /// Settles `account`'s funding in every market where it holds a position.
    pub fn settle_all(&mut self, account: AccountId) -> Result<(), TxError> {
        // Settling never adds or removes positions, so indices stay valid.
        let mut index = 0;
        while let Some(market) = self
            .account(account)?
            .positions
            .get(index)
            .map(|position| position.market)
        {
            self.settle(account, market)?;
            index += 1;
        }
        Ok(())
    }

    /// Adds to an account's collateral (negative: takes), checked.
    pub fn credit(&mut self, account: AccountId, amount: i128) -> Result<(), TxError> {
        let scratch = self.account(account)?;
        scratch.collateral = to_quote(i128::from(scratch.collateral) + amount)
            .ok_or(RejectReason::ArithmeticOverflow)?;
        Ok(())
    }
}

/// Both sides of a trade computed on copies, to be checked before [`Tx::put_account`].
#[derive(Debug)]
pub(crate) struct Trade {
    pub actor: Account,
    pub counterparty: Account,
    pub actor_change: PositionChange,
    pub counterparty_change: PositionChange,
    /// The market's open interest after the trade.
    pub open_interest: i128,
}

impl Tx<'_> {
    /// Computes a trade of `actor_lots` (positive: the actor buys) at `price` between two
    /// accounts, funding settled first, without applying it.
    pub fn prepare_trade(
        &mut self,
        market: MarketId,
        actor: AccountId,
        counterparty: AccountId,
        actor_lots: i64,
        price: Price,
    ) -> Result<Trade, TxError> {
        self.settle(actor, market)?;
        self.settle(counterparty, market)?;
        let index = self.state(market)?.funding_index;
        let open_interest = i128::from(self.state(market)?.open_interest);
        let mut actor_account = self.account(actor)?.clone();
        let mut counterparty_account = self.account(counterparty)?.clone();
        let actor_change = actor_account.apply_fill(market, actor_lots, price, index)?;
        let counterparty_change = counterparty_account.apply_fill(
            market,
            actor_lots
                .checked_neg()
                .ok_or(RejectReason::ArithmeticOverflow)?,
            price,
            index,
        )?;
        Ok(Trade {
            actor: actor_account,
            counterparty: counterparty_account,
            actor_change,
            counterparty_change,
            open_interest: open_interest
                + actor_change.long_delta()
                + counterparty_change.long_delta(),
        })
    }
}

pub(crate) use crate::matching::ActiveOrder;

impl Tx<'_> {
    fn dispatch(&mut self, account: AccountId, action: &Action) -> Result<(), TxError> {
        match *action {
            Action::PlaceOrder(ref request) => self.place(account, request),
            Action::Cancel { market, order_id } => self.cancel(account, market, order_id),
            Action::CancelByClientId {
                market,
                client_order_id,
            } => {
                let order_id = self
                    .market(market)?
                    .book
                    .order_by_client_id(account, client_order_id)
                    .filter(|_| client_order_id != 0)
                    .ok_or(RejectReason::UnknownOrder)?;
                self.cancel(account, market, order_id)
            }
            Action::CancelAll { market } => self.cancel_all(account, market),
            Action::Modify {
                market,
                order_id,
                price,
                lots,
            } => self.modify(account, market, order_id, price, lots),
            Action::Withdraw { amount } => self.withdraw(account, amount),
            Action::SetSessionKey { session } => {
                self.account(account)?.session = session;
                self.events.push(Event::SessionKeySet { account, session });
                Ok(())
            }
        }
    }
}
