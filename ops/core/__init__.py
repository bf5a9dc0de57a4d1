"""Pure domain: no Pulumi, no boto3. Everything else may import it."""
