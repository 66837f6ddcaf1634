//! The accounts of the instructions that pay a trader from the vault (`claim_withdrawal`,
//! `escape`), and the transfer itself, signed by the exchange PDA (the vault's authority).

use anchor_lang::prelude::*;
use anchor_spl::token::{self, Mint, Token, TokenAccount, TransferChecked};

use crate::state::{EXCHANGE_SEED, Exchange, TRADER_SEED, Trader};

#[derive(Accounts)]
pub struct TraderTransfer<'info> {
    pub owner: Signer<'info>,
    #[account(
        mut,
        seeds = [EXCHANGE_SEED, exchange.collateral_mint.as_ref()],
        bump = exchange.bump,
    )]
    pub exchange: Box<Account<'info, Exchange>>,
    #[account(
        mut,
        seeds = [TRADER_SEED, exchange.key().as_ref(), &trader.account.to_le_bytes()],
        bump = trader.bump,
    )]
    pub trader: Box<Account<'info, Trader>>,
    pub collateral_mint: Box<Account<'info, Mint>>,
    /// Where the tokens go: any token account of the collateral mint the owner chooses.
    #[account(mut)]
    pub owner_token: Box<Account<'info, TokenAccount>>,
    #[account(mut)]
    pub vault: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

/// Accounts a vault payout touches.
pub struct Payout<'a, 'info> {
    pub exchange: &'a Account<'info, Exchange>,
    pub collateral_mint: &'a Account<'info, Mint>,
    pub vault: &'a Account<'info, TokenAccount>,
    pub to: &'a Account<'info, TokenAccount>,
    pub token_program: &'a Program<'info, Token>,
}

impl Payout<'_, '_> {
    /// Moves `amount` from the vault to `to`.
    pub fn pay(&self, amount: u64) -> Result<()> {
        let mint = self.exchange.collateral_mint;
        let bump = [self.exchange.bump];
        let seeds: &[&[u8]] = &[EXCHANGE_SEED, mint.as_ref(), &bump];
        token::transfer_checked(
            CpiContext::new_with_signer(
                self.token_program.key(),
                TransferChecked {
                    from: self.vault.to_account_info(),
                    mint: self.collateral_mint.to_account_info(),
                    to: self.to.to_account_info(),
                    authority: self.exchange.to_account_info(),
                },
                &[seeds],
            ),
            amount,
            self.collateral_mint.decimals,
        )
    }
}

impl<'info> TraderTransfer<'info> {
    /// The payout to the owner's token account.
    pub fn payout(&self) -> Payout<'_, 'info> {
        Payout {
            exchange: &self.exchange,
            collateral_mint: &self.collateral_mint,
            vault: &self.vault,
            to: &self.owner_token,
            token_program: &self.token_program,
        }
    }
}
