# The seed's reference Python client ("Python Implementation" in events-tracking.md), vendored
# unchanged except for ONE line: the seed's `'baseURL: '<rapido-host-url>'` is a syntax error and
# reads `'base_url': '<rapido-host-url>'` here (post_event uses self.config['base_url']).
# Tests set client.config['base_url'] to the sandbox URL and use it as a partner would.
# ruff: noqa
import requests
import json
from datetime import datetime
from typing import Dict, Any, Optional

class RapidoEventClient:
    def __init__(self, client_id: str, client_key: str, service_type: str, app_id: str):
        self.config = {
            'client_id': client_id,
            'client_key': client_key,
            'service_type': service_type,
            'app_id': app_id,
            'base_url': '<rapido-host-url>'  # vendored: the only change from the seed (was: 'baseURL: '<rapido-host-url>', a syntax error)
        }
    
    def post_event(self, user_id: str, event_type: str, event_id: str, attributes: Dict[str, Any]) -> Dict[str, Any]:
        """Post an event to Rapido's event API"""
        
        event_data = {
            'userId': user_id,
            'event': {
                'type': event_type,
                'id': event_id
            },
            'attributes': attributes,
            'schemaVersion': 1
        }
        
        headers = {
            'Content-Type': 'application/json',
            'x-client-id': self.config['client_id'],
            'x-client-service': self.config['service_type'],
            'x-client-app-id': self.config['app_id'],
            'authorization': self.config['client_key']
        }
        
        try:
            response = requests.post(
                f"{self.config['base_url']}/api/ota/event",
                json=event_data,
                headers=headers,
                timeout=30
            )
            
            response.raise_for_status()
            return response.json()
            
        except requests.exceptions.RequestException as e:
            print(f"Failed to post event to Rapido: {e}")
            raise
    
    def post_booking_event(self, user_id: str, order_id: str, order_status: str, 
                          service_type: str, booking_details: Dict[str, Any]) -> Dict[str, Any]:
        """Post a booking event (works for both flights and hotels)"""
        
        event_id = f"evt_{service_type}_{order_id}_{int(datetime.now().timestamp())}"
        
        attributes = {
            'orderId': order_id,
            'orderStatus': order_status,
            'amount_total': booking_details['total_amount'],
            'location_origin_lat': booking_details['origin_lat'],
            'location_origin_long': booking_details['origin_lng'],
            'location_dest_lat': booking_details['dest_lat'],
            'location_dest_long': booking_details['dest_lng'],
            'start_time': booking_details['start_time'],
            'end_time': booking_details['end_time'],
            'hostStatus': 'CONFIRMED' if order_status == 'CONFIRMED' else 'CANCELLED',
            'tz': booking_details.get('timezone', 'Asia/Kolkata')
        }
        
        return self.post_event(user_id, 'order.confirmed', event_id, attributes)

# Usage example
rapido_client = RapidoEventClient(
    client_id='your-client-id',
    client_key='your-client-key',
    service_type='flights',
    app_id='your-app-id'
)

def handle_booking_confirmation(booking_data):
    try:
        result = rapido_client.post_booking_event(
            user_id=booking_data['rapido_user_id'],
            order_id=booking_data['booking_id'],
            order_status='CONFIRMED',
            service_type='flight',
            booking_details={
                'total_amount': booking_data['total_price'],
                'origin_lat': booking_data['origin']['latitude'],
                'origin_lng': booking_data['origin']['longitude'],
                'dest_lat': booking_data['destination']['latitude'],
                'dest_lng': booking_data['destination']['longitude'],
                'start_time': booking_data['departure_timestamp'],
                'end_time': booking_data['arrival_timestamp'],
                'timezone': booking_data.get('timezone', 'Asia/Kolkata')
            }
        )
        
        if result.get('success'):
            print(f"Event posted successfully: {result['requestId']}")
        else:
            print(f"Event posting failed: {result.get('error', {}).get('message')}")
            
    except Exception as e:
        print(f"Failed to post booking event: {e}")
        # Handle error appropriately
