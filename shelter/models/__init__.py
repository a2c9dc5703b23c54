"""All models, importable from one place (one module per aggregate)."""
from shelter.models.accounts import ApiToken, Organisation, OrgKind, Quota, Role, User, user_sites
from shelter.models.audit import AuditEvent, AuditEventPerson, JobRun
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
from shelter.models.mfa import RecoveryCode
from shelter.models.notes import PersonNote
from shelter.models.notifications import DeliveryAttempt, Notification
from shelter.models.people import (
    Assessment, Gender, HousingReferral, NeedScheme, OrganisationPerson, Person,
)
from shelter.models.reporting import (
    ReportNight,
    ReportRequestGroup,
    ReportSiteNight,
    ReportTurnaway,
    ReportWhatIf,
)
from shelter.models.safety import Authority, KeepApart, Restriction, SafetyExemption
from shelter.models.sites import (
    Area, Bed, BedOutage, ColdNight, GenderRule, OtherService, Room, Site,
)

__all__ = [
    "ACTIVE_PLACEMENT", "AllocationRun", "ApiToken", "Area", "Authority", "Assessment", "AuditEvent", "AuditEventPerson", "Base", "Bed",
    "BedOutage", "ColdNight", "DeliveryAttempt", "HousingReferral", "Notification", "Gender",
    "GenderRule", "Hold", "HoldRefusal", "HoldStatus", "JobRun",
    "KeepApart", "NeedScheme", "OrgKind", "Organisation", "OrganisationPerson", "OtherService", "PersonNote",
    "Override", "Person", "Placement", "PlacementChange", "PlacementStatus", "Quota", "RecoveryCode", "ReportNight",
    "ReportRequestGroup", "ReportSiteNight", "ReportTurnaway", "ReportWhatIf", "Request", "RequestSource",
    "RequestStatus", "Restriction", "Role", "SafetyExemption", "Room", "Site", "User", "user_sites", "utcnow",
]
