"""An Aurora global database in moto's server the way the Pulumi program lays it out: `dr-core` with the writer
`dr-core-us-east-1` (two instances) in region A and the secondary `dr-core-us-west-2` in region B (headless in
pilot light). Shared by the runbook tests and the failover-step provider test."""
from __future__ import annotations

from ops.actions.aws import client

PRIMARY, DR = "us-east-1", "us-west-2"
GLOBAL_ID = "dr-core"


def build_aurora(instances_b: int = 0) -> tuple[str, str]:
    rds_a, rds_b = client("rds", PRIMARY), client("rds", DR)
    rds_a.create_global_cluster(GlobalClusterIdentifier=GLOBAL_ID, Engine="aurora-postgresql",
                                EngineVersion="15.8", StorageEncrypted=True)
    arn_a = rds_a.create_db_cluster(
        DBClusterIdentifier=f"{GLOBAL_ID}-{PRIMARY}", GlobalClusterIdentifier=GLOBAL_ID, Engine="aurora-postgresql",
        EngineVersion="15.8", MasterUsername="dbadmin", MasterUserPassword="not-a-secret-1")["DBCluster"]["DBClusterArn"]
    for n in range(2):
        rds_a.create_db_instance(DBInstanceIdentifier=f"{GLOBAL_ID}-{PRIMARY}-{n}", DBInstanceClass="db.r6g.large",
                                 Engine="aurora-postgresql", DBClusterIdentifier=f"{GLOBAL_ID}-{PRIMARY}")
    arn_b = rds_b.create_db_cluster(
        DBClusterIdentifier=f"{GLOBAL_ID}-{DR}", GlobalClusterIdentifier=GLOBAL_ID, Engine="aurora-postgresql",
        EngineVersion="15.8")["DBCluster"]["DBClusterArn"]
    for n in range(instances_b):
        rds_b.create_db_instance(DBInstanceIdentifier=f"{GLOBAL_ID}-{DR}-{n}", DBInstanceClass="db.r6g.large",
                                 Engine="aurora-postgresql", DBClusterIdentifier=f"{GLOBAL_ID}-{DR}")
    return arn_a, arn_b
