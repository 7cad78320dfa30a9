//! The vault passwords, loaded once before any file is read.

use super::Failure;
use crate::cli::VaultArgs;
use crate::settings::Settings;

/// Load the vault passwords before any file is read, in Ansible's order: the configured
/// vault ids and `--vault-id`s, then `--vault-password-file`s, then the default file of
/// the environment or config, then `--ask-vault-pass`.
pub fn load_vault_passwords(args: &VaultArgs, settings: &Settings) -> Result<(), Failure> {
    use crate::vault::PasswordSource;
    let mut sources: Vec<PasswordSource> = settings
        .vault_identity_list
        .iter()
        .chain(&args.vault_id)
        .map(|id| PasswordSource::from_vault_id(id))
        .collect();
    sources.extend(
        args.vault_password_file
            .iter()
            .map(|f| PasswordSource::file(f)),
    );
    if let Some(file) = &settings.vault_password_file {
        sources.push(PasswordSource::file(file));
    }
    if args.ask_vault_pass {
        sources.push(PasswordSource::from_vault_id("prompt"));
    }
    let passwords = sources
        .iter()
        .map(PasswordSource::load)
        .collect::<Result<Vec<_>, _>>()
        .map_err(Failure::options)?;
    crate::vault::set_passwords(passwords);
    Ok(())
}
