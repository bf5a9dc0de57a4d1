"""dr-platform below and beside the Pulumi program: core (pure), actions (boto3), drctl (the toolkit)."""
