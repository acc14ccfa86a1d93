"""The cutover's edges: the Kubernetes API, ARM writes, the Entra token exchange, and how they connect.

::

    kube_api.py        KubeApi: raw JSON requests to one API server, retried on the injected clock
    arm_writes.py      ManagedClusterWriter: the one ARM write (a managed cluster's podIdentityProfile)
    token_exchange.py  TokenExchanger: a service-account token exchanged at Entra (step 2)
    connection.py      Access (how to reach clusters and Azure) and Connections (the clients of one run)
"""
