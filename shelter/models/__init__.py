"""All models, importable from one place (one module per aggregate)."""
from shelter.models.accounts import ApiToken, Organisation, OrgKind, Quota, Role, User, user_sites
from shelter.models.audit import AuditEvent, JobRun
from shelter.models.base import Base, utcnow
from shelter.models.bookings import (
    ACTIVE_PLACEMENT,
    AllocationRun,
    Hold,
    HoldRefusal,
    HoldStatus,
    Override,
    Placement,
    PlacementChange,
    PlacementStatus,
    Request,
    RequestSource,
    RequestStatus,
)
from shelter.models.people import Assessment, Gender, NeedScheme, OrganisationPerson, Person
from shelter.models.reporting import (
    ReportNight,
    ReportRequestGroup,
    ReportSiteNight,
    ReportTurnaway,
    ReportWhatIf,
)
from shelter.models.safety import KeepApart, Restriction
from shelter.models.sites import Bed, BedOutage, GenderRule, OtherService, Room, Site

__all__ = [
    "ACTIVE_PLACEMENT", "AllocationRun", "ApiToken", "Assessment", "AuditEvent", "Base", "Bed",
    "BedOutage", "Gender", "GenderRule", "Hold", "HoldRefusal", "HoldStatus", "JobRun",
    "KeepApart", "NeedScheme", "OrgKind", "Organisation", "OrganisationPerson", "OtherService",
    "Override", "Person", "Placement", "PlacementChange", "PlacementStatus", "Quota", "ReportNight",
    "ReportRequestGroup", "ReportSiteNight", "ReportTurnaway", "ReportWhatIf", "Request", "RequestSource",
    "RequestStatus", "Restriction", "Role", "Room", "Site", "User", "user_sites", "utcnow",
]
