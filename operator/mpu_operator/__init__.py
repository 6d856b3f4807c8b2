"""mpu-operator: Alibaba Cloud RTC MPU bypass streams as a Kubernetes resource."""

__version__ = "0.1.0"
