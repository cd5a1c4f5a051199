"""Payment providers: adapters of core.payments.provider.PaymentProvider."""
