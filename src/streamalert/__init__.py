"""streamalert: rolling 24-hour traffic counts from Kafka, alerts when they fluctuate."""

__version__ = "0.1.0"
